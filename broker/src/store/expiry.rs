//! Message deadlines between the two clocks: the broker times a Message Expiry Interval on
//! the monotonic clock (an [`Instant`], which means nothing to the next process), the store
//! keeps it as a Unix second, which the next process reads against its own wall clock.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Both clocks read at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    pub instant: Instant,
    /// Since the Unix epoch.
    pub unix: Duration,
}

impl Now {
    pub(crate) fn read() -> Now {
        Now {
            instant: Instant::now(),
            unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
        }
    }

    /// The Unix second at which `deadline` comes, rounded down: a message may then expire
    /// up to a second early after a restart, never late, and never says more time is left
    /// than its publisher gave it.
    pub(crate) fn unix_second_of(self, deadline: Instant) -> i64 {
        let at = match deadline.checked_duration_since(self.instant) {
            Some(ahead) => self.unix.saturating_add(ahead),
            None => self
                .unix
                .saturating_sub(self.instant.duration_since(deadline)),
        };
        i64::try_from(at.as_secs()).unwrap_or(i64::MAX)
    }

    /// The deadline for Unix second `at` on the monotonic clock: in the past (at most now)
    /// if that second has come.
    pub(crate) fn deadline_of(self, at: i64) -> Instant {
        let at = Duration::from_secs(u64::try_from(at).unwrap_or(0));
        match at.checked_sub(self.unix) {
            Some(ahead) if !ahead.is_zero() => {
                // No Message Expiry Interval is longer; a larger value is damage.
                let ahead = ahead.min(Duration::from_secs(u64::from(u32::MAX)));
                self.instant.checked_add(ahead).unwrap_or(self.instant)
            }
            _ => self
                .instant
                .checked_sub(self.unix.saturating_sub(at))
                .unwrap_or(self.instant),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Now {
        Now {
            instant: Instant::now(),
            unix: Duration::from_millis(1_700_000_000_500),
        }
    }

    #[test]
    fn a_deadline_becomes_the_unix_second_it_falls_in() {
        let now = now();
        let in_30s = now.instant + Duration::from_secs(30);
        assert_eq!(now.unix_second_of(in_30s), 1_700_000_030);
        let gone = now.instant.checked_sub(Duration::from_secs(2)).unwrap();
        assert_eq!(now.unix_second_of(gone), 1_699_999_998);
    }

    #[test]
    fn read_back_later_what_is_left_is_at_most_what_was_left() {
        let first = now();
        let at = first.unix_second_of(first.instant + Duration::from_secs(30));
        // The next process, 10.2 s later on the wall clock.
        let later = Now {
            instant: Instant::now(),
            unix: first.unix + Duration::from_millis(10_200),
        };
        let deadline = later.deadline_of(at);
        let left = deadline.duration_since(later.instant);
        assert_eq!(left, Duration::from_millis(19_300));
    }

    #[test]
    fn a_second_that_has_come_is_a_deadline_passed() {
        let now = now();
        assert!(now.deadline_of(1_700_000_000) <= now.instant);
        assert!(now.deadline_of(0) <= now.instant, "long gone");
        assert!(now.deadline_of(-5) <= now.instant, "nonsense on the card");
        assert!(now.deadline_of(1_700_000_001) > now.instant);
    }
}
