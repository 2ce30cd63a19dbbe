//! Relations between two topic filters, decided exactly under MQTT 3.1.1 matching ([`matches`]):
//! whether one filter matches every topic the other does ([`covers`]), and whether some topic
//! is matched by both ([`overlaps`]). Access control uses them to decide a SUBSCRIBE against
//! rules that are themselves filters.
//!
//! Three details of matching make this more than comparing levels:
//! - `#` also matches its parent (`a/#` matches `a`), so `a/#` covers `a`, and `+/#` matches
//!   exactly the topics `#` does (every topic has at least one level).
//! - A filter starting with `+` or `#` matches no topic starting with `$` (MQTT-4.7.2-1), so
//!   `#` neither covers nor overlaps `$SYS/x`.
//! - The empty string is not a topic name, although `+`, `#` and `/#` would match it: `/#` and
//!   `+` have no topic in common, and `/+/#` covers `/#`.
//!
//! Both functions expect valid filters ([`validate_filter`](crate::validate_filter)); on
//! anything else they return some answer without panicking.
//!
//! [`matches`]: crate::matches

/// Whether every topic name matched by `inner` is also matched by `outer`.
pub fn covers(outer: &str, inner: &str) -> bool {
    let inner_first = first_level(inner);
    if starts_with_wildcard(outer) && inner_first.starts_with('$') {
        return false;
    }
    let mut outer_levels = outer.split('/');
    let mut inner_levels = inner.split('/');
    let mut depth = 0;
    loop {
        match (outer_levels.next(), inner_levels.next()) {
            // Matches whatever follows, including nothing.
            (Some("#"), _) => return true,
            (None, None) => return true,
            // `inner` matches longer topics than `outer` does.
            (None, Some(_)) => return false,
            // `outer` needs more levels than `inner`'s topics have.
            (Some(_), None) => return false,
            // `inner` matches topics with `depth` levels and more; `+/#` here only matches those
            // with more. The difference is empty only when no such topic exists: at depth 0, and
            // at depth 1 below an empty first level (the topic would be "", which is not one).
            (Some(o), Some("#")) => {
                return o == "+"
                    && outer_levels.next() == Some("#")
                    && (depth == 0 || (depth == 1 && inner_first.is_empty()));
            }
            (Some("+"), Some(_)) => {}
            (Some(o), Some(i)) => {
                if o != i {
                    return false;
                }
            }
        }
        depth += 1;
    }
}

/// Whether some topic name is matched by both `a` and `b`.
pub fn overlaps(a: &str, b: &str) -> bool {
    let (a_first, b_first) = (first_level(a), first_level(b));
    if (starts_with_wildcard(a) && b_first.starts_with('$'))
        || (starts_with_wildcard(b) && a_first.starts_with('$'))
    {
        return false;
    }
    // The topics both match are those of the level-by-level meet of the two filters; the only
    // meet that holds no topic name is the single empty level (the topic "").
    let mut a_levels = a.split('/');
    let mut b_levels = b.split('/');
    let mut depth = 0;
    let mut meet_first_empty = false;
    loop {
        match (a_levels.next(), b_levels.next()) {
            (None, None) => return !(depth == 1 && meet_first_empty),
            // `#` meets the rest of the other filter; when that rest is nothing, the meet is
            // what was met so far.
            (Some("#"), None) | (None, Some("#")) => return !(depth == 1 && meet_first_empty),
            (Some("#"), Some(_)) | (Some(_), Some("#")) => return true,
            (None, Some(_)) | (Some(_), None) => return false,
            (Some(x), Some(y)) => {
                let met = match (x, y) {
                    ("+", other) | (other, "+") => other,
                    (x, y) if x == y => x,
                    _ => return false,
                };
                if depth == 0 {
                    meet_first_empty = met.is_empty();
                }
            }
        }
        depth += 1;
    }
}

fn first_level(filter: &str) -> &str {
    filter.split('/').next().unwrap_or(filter)
}

fn starts_with_wildcard(filter: &str) -> bool {
    matches!(first_level(filter), "+" | "#")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{matches, validate_filter, validate_topic_name};

    /// (a, b, a covers b, b covers a, they overlap)
    const CASES: &[(&str, &str, bool, bool, bool)] = &[
        ("a/b", "a/b", true, true, true),
        ("a/b", "a/c", false, false, false),
        ("a/+", "a/b", true, false, true),
        ("a/#", "a/b/c", true, false, true),
        // `a/#` matches `a` itself.
        ("a/#", "a", true, false, true),
        ("a/+", "a", false, false, false),
        ("a/#", "a/+", true, false, true),
        ("a/#", "a/#", true, true, true),
        ("#", "a/#", true, false, true),
        ("#", "+", true, false, true),
        ("#", "+/#", true, true, true),
        ("+/+", "a/#", false, false, true),
        ("+/+", "+/b", true, false, true),
        ("+/b", "a/+", false, false, true),
        ("+/b", "a/c", false, false, false),
        ("a/+/c", "a/#", false, true, true),
        ("a/+/#", "a/#", false, true, true),
        ("a/b/#", "a/+", false, false, true),
        ("a/b", "a/b/c", false, false, false),
        ("a/b/#", "a/b/c/d", true, false, true),
        // `$`-topics are not matched by filters starting with a wildcard.
        ("#", "$SYS/x", false, false, false),
        ("#", "$SYS/#", false, false, false),
        ("+/x", "$SYS/x", false, false, false),
        ("+/#", "$SYS/+", false, false, false),
        ("$SYS/#", "$SYS/x", true, false, true),
        ("$SYS/+", "$SYS/#", false, true, true),
        ("$SYS/#", "#", false, false, false),
        ("a/$x", "a/+", false, true, true),
        ("#", "a/$x", true, false, true),
        // Empty levels are levels like any other.
        ("/", "/", true, true, true),
        ("/", "+/+", false, true, true),
        ("a//b", "a/+/b", false, true, true),
        ("a//b", "a/b", false, false, false),
        ("/#", "/a", true, false, true),
        ("+", "/", false, false, false),
        ("#", "/", true, false, true),
        // "" would be the only topic in common, and it is not a topic name.
        ("/#", "+", false, false, false),
        ("/#", "#", false, true, true),
        ("/+/#", "/#", true, true, true),
        ("+/+/#", "/#", true, false, true),
    ];

    #[test]
    fn relations_table() {
        for &(a, b, a_covers_b, b_covers_a, overlap) in CASES {
            assert_eq!(covers(a, b), a_covers_b, "covers({a:?}, {b:?})");
            assert_eq!(covers(b, a), b_covers_a, "covers({b:?}, {a:?})");
            assert_eq!(overlaps(a, b), overlap, "overlaps({a:?}, {b:?})");
            assert_eq!(overlaps(b, a), overlap, "overlaps({b:?}, {a:?})");
        }
    }

    #[test]
    fn every_filter_covers_and_overlaps_itself() {
        for f in ["a", "#", "+", "/", "a/+/#", "$SYS/#", "+/+", "//", "/#"] {
            assert!(covers(f, f), "{f:?}");
            assert!(overlaps(f, f), "{f:?}");
        }
    }

    /// Checks both relations against their definitions over every small filter and topic: the
    /// levels used (a literal, an empty level, a `$` level, a fresh value) stand for all that
    /// can differ between filters of at most three levels, and topics one level longer suffice
    /// as witnesses.
    #[test]
    fn relations_agree_with_matching_on_every_small_filter() {
        let filter_levels = ["a", "", "$s", "+", "#"];
        let topic_levels = ["a", "", "$s", "c"];
        let filters: Vec<String> = sequences(&filter_levels, 3)
            .into_iter()
            .filter(|f| validate_filter(f).is_ok())
            .collect();
        let topics: Vec<String> = sequences(&topic_levels, 4)
            .into_iter()
            .filter(|t| validate_topic_name(t).is_ok())
            .collect();
        let matched: Vec<Vec<bool>> = filters
            .iter()
            .map(|f| topics.iter().map(|t| matches(f, t)).collect())
            .collect();
        for (i, a) in filters.iter().enumerate() {
            for (j, b) in filters.iter().enumerate() {
                let (ma, mb) = (&matched[i], &matched[j]);
                let want_covers = ma.iter().zip(mb).all(|(&x, &y)| x || !y);
                let want_overlaps = ma.iter().zip(mb).any(|(&x, &y)| x && y);
                assert_eq!(covers(a, b), want_covers, "covers({a:?}, {b:?})");
                assert_eq!(overlaps(a, b), want_overlaps, "overlaps({a:?}, {b:?})");
            }
        }
    }

    /// Every `/`-joined sequence of 1 to `max` levels from `alphabet`.
    fn sequences(alphabet: &[&str], max: usize) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        let mut last: Vec<String> = alphabet.iter().map(|l| l.to_string()).collect();
        for _ in 1..max {
            let next: Vec<String> = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |l| format!("{s}/{l}")))
                .collect();
            all.append(&mut last);
            last = next;
        }
        all.append(&mut last);
        all
    }
}
