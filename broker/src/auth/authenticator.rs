//! The CONNECT check: a user name and password against the password file.
//!
//! Hashes are verified on tokio's blocking pool, at most one per core at a time (for every
//! authenticator in the process), so a reconnect storm cannot starve the runtime; during a
//! storm, argon2id's working memory is passed from one verification to the next. Verified
//! credentials are remembered, keyed by a keyed digest of (user, password), so the same nodes
//! reconnecting after a Wi-Fi outage cost one hash per user rather than one per connect.
//!
//! An [`Authenticator`] is immutable: on reload, build a new one (which starts with an empty
//! cache) and swap it in; [`users_changed`] lists whom the new file no longer lets in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Semaphore;

use super::hash::{Argon2Memory, StoredHash};
use super::password_file::PasswordFile;
use crate::codec::v5::ConnackReason;
use crate::codec::ConnectReturnCode;

/// Verified credentials remembered; more are made room for by forgetting an arbitrary one.
/// A home has tens of nodes, so this is never reached in practice.
const CACHE_CAPACITY: usize = 1024;

/// The answer to a CONNECT's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Let the client in as `username` (`None`: anonymous).
    ///
    /// `credentials_ignored` is set when the client sent a user name or password that was not
    /// checked: no users are configured (the name is then the client's unverified claim), or
    /// a password came without a user name. The caller logs it (once).
    Accepted {
        username: Option<String>,
        credentials_ignored: bool,
    },
    /// CONNACK 4: unknown user or wrong password.
    BadCredentials,
    /// CONNACK 5: no user name or no password while they are required.
    NotAuthorized,
}

impl AuthOutcome {
    /// The MQTT 3.1.1 CONNACK return code for this outcome.
    pub fn return_code(&self) -> ConnectReturnCode {
        match self {
            AuthOutcome::Accepted { .. } => ConnectReturnCode::Accepted,
            AuthOutcome::BadCredentials => ConnectReturnCode::BadUserNameOrPassword,
            AuthOutcome::NotAuthorized => ConnectReturnCode::NotAuthorized,
        }
    }

    /// The MQTT 5.0 CONNACK reason for this outcome (0x86, 0x87).
    pub fn connack_reason(&self) -> ConnackReason {
        match self {
            AuthOutcome::Accepted { .. } => ConnackReason::Success,
            AuthOutcome::BadCredentials => ConnackReason::BadUserNameOrPassword,
            AuthOutcome::NotAuthorized => ConnackReason::NotAuthorized,
        }
    }
}

/// Checks CONNECT credentials. Cheap to build; share it as `Arc<Authenticator>`.
pub struct Authenticator {
    /// `None`: no password file is configured.
    users: Option<HashMap<String, Arc<StoredHash>>>,
    /// File order, for [`users_changed`].
    order: Vec<String>,
    allow_anonymous: bool,
    /// Which reload of the users this is (0 at start): a client checked against an older
    /// one must not be let in after the newer one is in force.
    generation: u64,
    /// Verified for unknown users, so refusing one takes as long as refusing a known one: the
    /// first user's scheme and parameters (a file mixing schemes still tells them apart).
    decoy: Arc<StoredHash>,
    shared: Arc<Shared>,
    #[cfg(test)]
    gate: Option<Arc<tests::Gate>>,
}

/// What the blocking verifications update.
struct Shared {
    /// `None` if the OS gave no random key: every connect is then verified.
    cache_key: Option<[u8; 32]>,
    /// digest of (user, password) → the hash it verified against.
    cache: Mutex<HashMap<[u8; 32], Arc<StoredHash>>>,
    hashes_verified: AtomicU64,
}

impl Authenticator {
    /// The same users, marked as the `generation`th reload.
    pub fn with_generation(mut self, generation: u64) -> Authenticator {
        self.generation = generation;
        self
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// `users`: the password file, or `None` when none is configured. With no users, every
    /// client is let in if `allow_anonymous` (credentials unchecked) and none otherwise. With
    /// users, a client that sends no user name is let in only if `allow_anonymous`.
    pub fn new(users: Option<PasswordFile>, allow_anonymous: bool) -> Authenticator {
        let mut cache_key = [0u8; 32];
        let cache_key = match getrandom::fill(&mut cache_key) {
            Ok(()) => Some(cache_key),
            Err(e) => {
                log::warn!("cannot read random bytes from the operating system ({e}); every connection's password will be verified, without a cache");
                None
            }
        };
        let decoy = users
            .as_ref()
            .and_then(|file| file.entries().next())
            .map_or_else(StoredHash::default_decoy, |(_, hash)| hash.decoy());
        let order = users
            .as_ref()
            .map(|file| file.users().map(str::to_owned).collect())
            .unwrap_or_default();
        let users = users.map(|file| {
            file.entries()
                .map(|(user, hash)| (user.to_owned(), Arc::new(hash.clone())))
                .collect()
        });
        Authenticator {
            users,
            order,
            allow_anonymous,
            generation: 0,
            decoy: Arc::new(decoy),
            shared: Arc::new(Shared {
                cache_key,
                cache: Mutex::new(HashMap::new()),
                hashes_verified: AtomicU64::new(0),
            }),
            #[cfg(test)]
            gate: None,
        }
    }

    /// Checks a CONNECT's user name and password. Never blocks the runtime: hashes are
    /// verified on the blocking pool.
    pub async fn check(&self, username: Option<&str>, password: Option<&[u8]>) -> AuthOutcome {
        let Some(users) = &self.users else {
            return if self.allow_anonymous {
                AuthOutcome::Accepted {
                    username: username.map(str::to_owned),
                    credentials_ignored: username.is_some() || password.is_some(),
                }
            } else {
                AuthOutcome::NotAuthorized
            };
        };
        let Some(username) = username else {
            return if self.allow_anonymous {
                AuthOutcome::Accepted {
                    username: None,
                    credentials_ignored: password.is_some(),
                }
            } else {
                AuthOutcome::NotAuthorized
            };
        };
        // A name without a password is never let in, even with allow_anonymous (as Mosquitto):
        // letting it in under that name would need no proof, and under no name would
        // silently drop the identity the client asked for.
        let Some(password) = password else {
            return AuthOutcome::NotAuthorized;
        };
        let entry = users.get(username).cloned();
        let key = self.shared.cache_key(username, password);
        let accepted = || AuthOutcome::Accepted {
            username: Some(username.to_owned()),
            credentials_ignored: false,
        };
        if self.shared.cached(key.as_ref(), entry.as_ref()) {
            return accepted();
        }
        let verifier = verifier();
        let permit = {
            let _waiting = verifier.memory.waiting();
            verifier.permits.clone().acquire_owned().await
        };
        let Ok(permit) = permit else {
            return AuthOutcome::BadCredentials; // the semaphore is never closed
        };
        // Another connect with the same credentials may have verified them while this one
        // waited for its turn.
        if self.shared.cached(key.as_ref(), entry.as_ref()) {
            return accepted();
        }
        let known = entry.is_some();
        let target = entry.clone().unwrap_or_else(|| self.decoy.clone());
        let password = password.to_vec();
        let shared = self.shared.clone();
        #[cfg(test)]
        let gate = self.gate.clone();
        // The permit and the cache update travel with the blocking task: a client that goes
        // away mid-check neither frees its core early nor loses the verification's result.
        let verified = tokio::task::spawn_blocking(move || {
            #[cfg(test)]
            if let Some(gate) = gate {
                gate.pass();
            }
            let mut memory = verifier.memory.take();
            let ok = target.verify_in(&password, &mut memory);
            verifier.memory.give(memory);
            shared.hashes_verified.fetch_add(1, Ordering::Relaxed);
            if let (true, Some(entry), Some(key)) = (ok, entry, key) {
                shared.remember(key, entry);
            }
            drop(permit);
            ok
        })
        .await;
        match verified {
            Ok(true) if known => accepted(),
            Ok(_) => AuthOutcome::BadCredentials,
            Err(e) => {
                log::error!("verifying the password of user {username:?} failed: {e}");
                AuthOutcome::BadCredentials
            }
        }
    }

    /// Whether a password file is configured.
    pub fn has_users(&self) -> bool {
        self.users.is_some()
    }

    pub fn allows_anonymous(&self) -> bool {
        self.allow_anonymous
    }

    /// Hashes computed so far (decoys included; cache hits are not): for statistics.
    pub fn hashes_verified(&self) -> u64 {
        self.shared.hashes_verified.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("users", &self.users.as_ref().map(HashMap::len))
            .field("allow_anonymous", &self.allow_anonymous)
            .finish_non_exhaustive()
    }
}

/// Users of `old` whose sessions `new` no longer vouches for: removed from the file, or with a
/// different hash (a changed password). In `old`'s file order. Empty if `old` had no users:
/// whether clients let in without checks may stay is the caller's decision
/// ([`Authenticator::has_users`], [`Authenticator::allows_anonymous`]).
pub fn users_changed(old: &Authenticator, new: &Authenticator) -> Vec<String> {
    let Some(old_users) = &old.users else {
        return Vec::new();
    };
    old.order
        .iter()
        .filter(|user| {
            let before = old_users.get(user.as_str());
            let after = new.users.as_ref().and_then(|u| u.get(user.as_str()));
            match (before, after) {
                (Some(before), Some(after)) => before != after,
                _ => true,
            }
        })
        .cloned()
        .collect()
}

/// What every authenticator shares, so one swapped in on reload during a storm does not
/// double the bound.
struct Verifier {
    /// One per core.
    permits: Arc<Semaphore>,
    memory: MemoryPool,
}

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Verifier {
            permits: Arc::new(Semaphore::new(cores)),
            memory: MemoryPool::new(cores),
        }
    })
}

/// argon2id working memory (8 MiB a hash with Hearth's parameters) handed from one
/// verification to the next while others wait for a permit. Allocated afresh for each, the
/// memory went back to the operating system when freed and had to be faulted in and zeroed
/// again: the kernel then spent more time per login than the hash. Memory is kept only while
/// logins queue up, so an idle broker holds none, and at most one per permit.
struct MemoryPool {
    free: Mutex<Vec<Argon2Memory>>,
    /// Checks waiting for a permit.
    waiting: AtomicUsize,
    capacity: usize,
}

/// Counts a check as waiting for a permit until dropped (also when the client goes away).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl MemoryPool {
    fn new(capacity: usize) -> MemoryPool {
        MemoryPool {
            free: Mutex::new(Vec::new()),
            waiting: AtomicUsize::new(0),
            capacity,
        }
    }

    fn waiting(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(&self.waiting)
    }

    /// Memory a finished verification left, or none yet (the verification allocates it).
    fn take(&self) -> Argon2Memory {
        self.lock().pop().unwrap_or_default()
    }

    /// Keeps `memory` for the next verification if a check is waiting for a permit; frees it
    /// otherwise.
    fn give(&self, memory: Argon2Memory) {
        if memory.is_empty() || self.waiting.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut free = self.lock();
        if free.len() < self.capacity {
            free.push(memory);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Argon2Memory>> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Shared {
    /// HMAC-SHA256 of (user, password) under a per-process random key: the cache never holds
    /// a password, nor anything that can be checked against one without the key.
    fn cache_key(&self, user: &str, password: &[u8]) -> Option<[u8; 32]> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.cache_key.as_ref()?).ok()?;
        // The length keeps ("ab", "c") and ("a", "bc") apart.
        mac.update(&(user.len() as u64).to_be_bytes());
        mac.update(user.as_bytes());
        mac.update(password);
        Some(mac.finalize().into_bytes().into())
    }

    /// Whether these credentials verified against exactly this user's current hash.
    fn cached(&self, key: Option<&[u8; 32]>, entry: Option<&Arc<StoredHash>>) -> bool {
        let (Some(key), Some(entry)) = (key, entry) else {
            return false;
        };
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(key).is_some_and(|hit| Arc::ptr_eq(hit, entry))
    }

    fn remember(&self, key: [u8; 32], entry: Arc<StoredHash>) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(&key) {
            if let Some(evicted) = cache.keys().next().copied() {
                cache.remove(&evicted);
            }
        }
        cache.insert(key, entry);
    }
}

#[cfg(test)]
mod tests;
