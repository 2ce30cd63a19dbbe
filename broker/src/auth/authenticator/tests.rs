use std::sync::Condvar;

use super::*;
use crate::auth::hash::tests::{LIBARGON2, MOSQUITTO_2_0_11};

/// Holds verifications on the blocking pool until opened, and reports each one that arrives.
pub(super) struct Gate {
    arrived: tokio::sync::mpsc::UnboundedSender<()>,
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn new() -> (Arc<Gate>, tokio::sync::mpsc::UnboundedReceiver<()>) {
        let (arrived, rx) = tokio::sync::mpsc::unbounded_channel();
        let gate = Gate {
            arrived,
            open: Mutex::new(false),
            opened: Condvar::new(),
        };
        (Arc::new(gate), rx)
    }

    pub(super) fn pass(&self) {
        let _ = self.arrived.send(());
        let mut open = self.open.lock().expect("gate");
        while !*open {
            open = self.opened.wait(open).expect("gate");
        }
    }

    fn open(&self) {
        *self.open.lock().expect("gate") = true;
        self.opened.notify_all();
    }
}

/// Opens the gate even if the test fails, so no blocking thread is left waiting.
struct OpenOnDrop(Arc<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// alice, bob, dave, erin ($7$) and carol ($6$) from mosquitto_passwd, frank (argon2id from
/// libargon2, 64-byte salt) and grace (argon2id written by Hearth).
fn password_file() -> PasswordFile {
    let mut text: String = MOSQUITTO_2_0_11
        .iter()
        .map(|(_, _, line)| format!("{line}\n"))
        .collect();
    text.push_str(&format!("frank:{}\n", LIBARGON2[0]));
    let grace = StoredHash::new_argon2id(b"grace's secret").expect("hash");
    text.push_str(&format!("grace:{}\n", grace.encode()));
    PasswordFile::parse(&text).expect("parse")
}

fn accepted(user: &str) -> AuthOutcome {
    AuthOutcome::Accepted {
        username: Some(user.into()),
        credentials_ignored: false,
    }
}

const ANONYMOUS: AuthOutcome = AuthOutcome::Accepted {
    username: None,
    credentials_ignored: false,
};

#[tokio::test]
async fn the_right_password_is_accepted_for_every_scheme() {
    let auth = Authenticator::new(Some(password_file()), false);
    for (user, password, _) in MOSQUITTO_2_0_11 {
        let outcome = auth.check(Some(user), Some(password.as_bytes())).await;
        assert_eq!(outcome, accepted(user));
    }
    assert_eq!(
        auth.check(Some("frank"), Some(b"correct horse")).await,
        accepted("frank")
    );
    assert_eq!(
        auth.check(Some("grace"), Some(b"grace's secret")).await,
        accepted("grace")
    );
}

#[tokio::test]
async fn a_wrong_password_or_an_unknown_user_is_bad_credentials() {
    let auth = Authenticator::new(Some(password_file()), true);
    for user in ["alice", "carol", "frank", "grace"] {
        assert_eq!(
            auth.check(Some(user), Some(b"wrong")).await,
            AuthOutcome::BadCredentials,
            "{user}"
        );
    }
    // Someone else's password is wrong too.
    assert_eq!(
        auth.check(Some("bob"), Some(b"correct horse")).await,
        AuthOutcome::BadCredentials
    );
    assert_eq!(auth.hashes_verified(), 5);
    assert_eq!(
        auth.check(Some("mallory"), Some(b"correct horse")).await,
        AuthOutcome::BadCredentials
    );
    assert_eq!(
        auth.hashes_verified(),
        6,
        "an unknown user costs a hash too"
    );
    assert_eq!(
        AuthOutcome::BadCredentials.return_code(),
        ConnectReturnCode::BadUserNameOrPassword
    );
}

#[tokio::test]
async fn missing_credentials_are_not_authorized_unless_anonymous_is_allowed() {
    let strict = Authenticator::new(Some(password_file()), false);
    assert_eq!(strict.check(None, None).await, AuthOutcome::NotAuthorized);
    assert_eq!(
        strict.check(None, Some(b"correct horse")).await,
        AuthOutcome::NotAuthorized
    );
    assert_eq!(
        strict.check(Some("alice"), None).await,
        AuthOutcome::NotAuthorized
    );

    let open = Authenticator::new(Some(password_file()), true);
    assert_eq!(open.check(None, None).await, ANONYMOUS);
    assert_eq!(
        open.check(None, Some(b"correct horse")).await,
        AuthOutcome::Accepted {
            username: None,
            credentials_ignored: true
        }
    );
    // A name is never taken without its password.
    assert_eq!(
        open.check(Some("alice"), None).await,
        AuthOutcome::NotAuthorized
    );
    assert_eq!(strict.hashes_verified() + open.hashes_verified(), 0);
    assert_eq!(
        AuthOutcome::NotAuthorized.return_code(),
        ConnectReturnCode::NotAuthorized
    );
}

#[tokio::test]
async fn with_no_users_credentials_are_ignored_and_flagged() {
    let open = Authenticator::new(None, true);
    assert!(!open.has_users() && open.allows_anonymous());
    assert_eq!(open.check(None, None).await, ANONYMOUS);
    assert_eq!(
        open.check(Some("alice"), Some(b"anything")).await,
        AuthOutcome::Accepted {
            username: Some("alice".into()),
            credentials_ignored: true
        }
    );
    assert_eq!(
        open.check(Some("alice"), None).await,
        AuthOutcome::Accepted {
            username: Some("alice".into()),
            credentials_ignored: true
        }
    );
    assert_eq!(ANONYMOUS.return_code(), ConnectReturnCode::Accepted);

    let closed = Authenticator::new(None, false);
    assert_eq!(closed.check(None, None).await, AuthOutcome::NotAuthorized);
    assert_eq!(
        closed.check(Some("alice"), Some(b"x")).await,
        AuthOutcome::NotAuthorized
    );
}

#[tokio::test]
async fn credentials_verified_once_are_remembered() {
    let auth = Authenticator::new(Some(password_file()), false);
    for _ in 0..3 {
        assert_eq!(
            auth.check(Some("grace"), Some(b"grace's secret")).await,
            accepted("grace")
        );
    }
    assert_eq!(auth.hashes_verified(), 1);
    // Only what verified is remembered: a wrong password costs a hash each time.
    for _ in 0..2 {
        assert_eq!(
            auth.check(Some("grace"), Some(b"guess")).await,
            AuthOutcome::BadCredentials
        );
    }
    assert_eq!(auth.hashes_verified(), 3);
    // The key is the user and the password together.
    assert_eq!(
        auth.check(Some("alice"), Some(b"grace's secret")).await,
        AuthOutcome::BadCredentials
    );
    assert_eq!(
        auth.check(Some("grace"), Some(b"grace's secret")).await,
        accepted("grace")
    );
    assert_eq!(auth.hashes_verified(), 4);
}

#[tokio::test]
async fn a_new_authenticator_starts_with_an_empty_cache() {
    let old = Authenticator::new(Some(password_file()), false);
    assert_eq!(
        old.check(Some("alice"), Some(b"correct horse")).await,
        accepted("alice")
    );
    // alice's password changed in the file that replaced it.
    let mut text: String = format!(
        "alice:{}\n",
        StoredHash::new_argon2id(b"new horse")
            .expect("hash")
            .encode()
    );
    text.push_str(MOSQUITTO_2_0_11[1].2);
    let new = Authenticator::new(Some(PasswordFile::parse(&text).expect("parse")), false);
    assert_eq!(
        new.check(Some("alice"), Some(b"correct horse")).await,
        AuthOutcome::BadCredentials
    );
    assert_eq!(
        new.check(Some("alice"), Some(b"new horse")).await,
        accepted("alice")
    );
    assert_eq!(new.hashes_verified(), 2);
    assert_eq!(
        users_changed(&old, &new),
        ["alice", "carol", "dave", "erin", "frank", "grace"]
    );
}

#[test]
fn users_changed_lists_removed_users_and_changed_passwords() {
    let lines: Vec<&str> = MOSQUITTO_2_0_11.iter().map(|(_, _, l)| *l).collect();
    let file = |lines: &[&str]| PasswordFile::parse(&lines.join("\n")).expect("parse");
    let old = Authenticator::new(Some(file(&lines)), false);
    let same = Authenticator::new(Some(file(&lines)), false);
    assert!(users_changed(&old, &same).is_empty());

    // bob removed, carol given dave's hash, a new user added.
    let carol = format!("carol:{}", lines[3].split_once(':').expect("colon").1);
    let zed = lines[0].replacen("alice", "zed", 1);
    let new = Authenticator::new(
        Some(file(&[lines[0], &carol, lines[3], lines[4], &zed])),
        false,
    );
    assert_eq!(users_changed(&old, &new), ["bob", "carol"]);

    let none = Authenticator::new(None, true);
    assert_eq!(
        users_changed(&old, &none),
        ["alice", "bob", "carol", "dave", "erin"]
    );
    assert!(users_changed(&none, &old).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_storm_of_one_user_costs_at_most_one_hash_per_core() {
    let auth = Arc::new(Authenticator::new(Some(password_file()), false));
    let checks: Vec<_> = (0..50)
        .map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move { auth.check(Some("grace"), Some(b"grace's secret")).await })
        })
        .collect();
    for check in checks {
        assert_eq!(check.await.expect("join"), accepted("grace"));
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as u64;
    assert!(
        (1..=cores).contains(&auth.hashes_verified()),
        "{} hashes for 50 connects",
        auth.hashes_verified()
    );
}

#[test]
fn argon2id_memory_is_passed_on_only_while_checks_wait_and_one_per_permit() {
    let pool = MemoryPool::new(2);
    let memory = || vec![argon2::Block::default(); 8];
    // A login on its own frees its memory.
    pool.give(memory());
    assert!(pool.take().is_empty());

    let waiting = pool.waiting();
    let first = memory();
    let at = first.as_ptr();
    pool.give(first);
    let next = pool.take();
    assert_eq!(next.as_ptr(), at, "handed to the next verification");
    for _ in 0..3 {
        pool.give(memory());
    }
    assert_eq!(pool.lock().len(), 2, "no more than one per permit");
    let (a, b) = (pool.take(), pool.take());
    assert!(!a.is_empty() && !b.is_empty() && pool.take().is_empty());

    // The last waiter gone (let in, or its client went away): nothing more is kept.
    drop(waiting);
    pool.give(a);
    assert!(pool.take().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_distinct_argon2id_users_is_let_in_on_passed_on_memory() {
    let users: Vec<(String, String)> = (0..12)
        .map(|i| (format!("node{i}"), format!("secret {i}")))
        .collect();
    let text: String = users
        .iter()
        .map(|(user, password)| {
            let hash = StoredHash::new_argon2id(password.as_bytes()).expect("hash");
            format!("{user}:{}\n", hash.encode())
        })
        .collect();
    let auth = Arc::new(Authenticator::new(
        Some(PasswordFile::parse(&text).expect("parse")),
        false,
    ));
    let checks: Vec<_> = users
        .iter()
        .cycle()
        .take(users.len() * 2)
        .enumerate()
        .map(|(i, (user, password))| {
            let (auth, user) = (auth.clone(), user.clone());
            // Every other one wrong, so memory passes between right and wrong passwords.
            let password = if i % 2 == 0 {
                password.clone()
            } else {
                format!("{password}!")
            };
            tokio::spawn(async move {
                let got = auth.check(Some(&user), Some(password.as_bytes())).await;
                (i, user, got)
            })
        })
        .collect();
    for check in checks {
        let (i, user, got) = check.await.expect("join");
        if i % 2 == 0 {
            assert_eq!(got, accepted(&user));
        } else {
            assert_eq!(
                got,
                AuthOutcome::BadCredentials,
                "{user} with a wrong password"
            );
        }
    }
}

/// On a single-threaded runtime, other tasks keep running while verifications are in flight,
/// and no more verifications run at once than there are cores.
#[test]
fn verification_does_not_block_the_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (gate, mut arrived) = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let mut auth = Authenticator::new(Some(password_file()), false);
        auth.gate = Some(gate.clone());
        let auth = Arc::new(auth);
        let checks: Vec<_> = (0..20)
            .map(|i| {
                let auth = auth.clone();
                // Half the same credentials, half wrong ones (never cached).
                let password: &[u8] = if i % 2 == 0 {
                    b"grace's secret"
                } else {
                    b"nope"
                };
                tokio::spawn(async move { auth.check(Some("grace"), Some(password)).await })
            })
            .collect();
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        for _ in 0..cores {
            arrived
                .recv()
                .await
                .expect("a verification reached the blocking pool");
        }

        // Every permit is held by a verification stuck at the gate; the runtime still answers.
        let (ping, pinged) = tokio::sync::oneshot::channel::<u32>();
        let (pong, ponged) = tokio::sync::oneshot::channel::<u32>();
        tokio::spawn(async move {
            let n = pinged.await.expect("ping");
            pong.send(n + 1).expect("pong");
        });
        ping.send(41).expect("ping");
        assert_eq!(ponged.await.expect("pong"), 42);
        assert!(
            arrived.try_recv().is_err(),
            "more verifications than cores at once"
        );

        gate.open();
        for (i, check) in checks.into_iter().enumerate() {
            let expected = if i % 2 == 0 {
                accepted("grace")
            } else {
                AuthOutcome::BadCredentials
            };
            assert_eq!(check.await.expect("join"), expected);
        }
    });
}

#[test]
fn the_check_future_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let auth = Authenticator::new(None, true);
    let check = auth.check(Some("alice"), Some(b"pw"));
    assert_send(&check);
    let debug = format!("{auth:?}");
    assert_eq!(
        debug,
        "Authenticator { users: None, allow_anonymous: true, .. }"
    );
}
