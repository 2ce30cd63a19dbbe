//! Password hashes as stored in a password file: Hearth writes argon2id and reads the two
//! formats `mosquitto_passwd` writes, so a user moving from Mosquitto keeps the file.
//!
//! | text                                         | scheme                          |
//! |----------------------------------------------|---------------------------------|
//! | `$argon2id$v=19$m=M,t=T,p=P$SALT$HASH`       | argon2id, PHC string (B64, no padding) |
//! | `$7$ITERATIONS$SALT$HASH`                    | PBKDF2-HMAC-SHA512 (Mosquitto 2.x) |
//! | `$6$SALT$HASH`                               | SHA-512 of password then salt (Mosquitto 1.x) |
//!
//! Mosquitto's salt and hash are standard base64 with padding; its hash is always the 64
//! bytes of SHA-512 and its salt 12 bytes (64 in Mosquitto 2.1, which also writes argon2id
//! with a 64-byte salt: read here too).

use std::fmt;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64ct::{Base64, Base64Unpadded, Encoding};
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use thiserror::Error;

/// Argon2id memory cost for new hashes, in KiB (8 MiB).
///
/// Measured on the 2-core development machine (AMD EPYC, shared: load 2.5 to 4), release
/// build, one verification at a time, with a throwaway program timing [`StoredHash::verify`]
/// in 5 rounds of 20 (`cargo run --release -p broker --example argon2_timing`, not kept);
/// median of the rounds, two runs:
///
/// | m (KiB) | t | p | ms per verify |
/// |--------:|--:|--:|--------------:|
/// |   4 096 | 1 | 1 | 1.6 to 2.0 |
/// |   4 096 | 3 | 1 | 4.6 to 5.3 |
/// | **8 192** | **1** | **1** | **3.3 to 4.3** |
/// |   8 192 | 2 | 1 | 5.7 to 7.0 (up to 12 at load 5) |
/// |  16 384 | 1 | 1 | 7.8 to 8.0 |
/// |  19 456 | 2 | 1 | 22 to 23 (OWASP's first choice) |
/// |  47 104 | 1 | 1 | 57 to 59 (Mosquitto 2.1's default) |
///
/// Mosquitto's `$7$` (PBKDF2-SHA512, 101 iterations) costs 0.05 ms and `$6$` under 1 µs.
/// These times include getting the working memory from the system each time; reused across
/// a login storm (see the authenticator), m = 8 MiB costs about 2.6 ms of CPU per verify.
///
/// Chosen: m = 8 MiB, t = 1, p = 1 (t = 1 as in Mosquitto 2.1 and OWASP's and RFC 9106's
/// first choices: memory, not passes, is what makes guessing costly). 100 nodes with distinct
/// users reconnecting at once all had their CONNACK within 0.17 to 0.19 s here (`hearth-bench
/// storm`, two cores shared with the load generator), a tenth of the 2 s budget, which leaves room for a busy machine and for a
/// Pi, whose cores are several times slower. Memory-hard: each verification fills 8 MiB, and
/// at most one runs per core. A hash written with other parameters is verified with its own.
pub const ARGON2_M_KIB: u32 = 8 * 1024;
/// Argon2id passes over memory for new hashes.
pub const ARGON2_T: u32 = 1;
/// Argon2id lanes for new hashes: one, because verification runs one hash per core already.
pub const ARGON2_P: u32 = 1;
/// Salt length for new hashes, in bytes.
pub const SALT_LEN: usize = 16;
/// Hash (tag) length for new hashes, in bytes.
pub const HASH_LEN: usize = 32;

/// Working memory for argon2id (1 KiB blocks), see [`StoredHash::verify_in`].
pub type Argon2Memory = Vec<Block>;

/// Length of a SHA-512 output: the hash of both Mosquitto formats.
const SHA512_LEN: usize = 64;

/// A password hash read from a password file, or made for a new password.
///
/// Its `Debug` shows the scheme and parameters only, never the salt or the hash.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredHash {
    /// argon2id (Hearth's own, and Mosquitto 2.1's default).
    Argon2id {
        version: u32,
        m_kib: u32,
        t: u32,
        p: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    /// Mosquitto 2.x `$7$`: PBKDF2-HMAC-SHA512.
    Pbkdf2Sha512 {
        iterations: u32,
        salt: Vec<u8>,
        hash: [u8; SHA512_LEN],
    },
    /// Mosquitto 1.x `$6$`: SHA-512 over the password bytes followed by the salt bytes.
    Sha512 {
        salt: Vec<u8>,
        hash: [u8; SHA512_LEN],
    },
}

/// Why a stored hash cannot be read. Messages never quote the hash (nor a plain-text password
/// someone may have put in its place).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HashError {
    #[error("the password is not hashed (a hash starts with `$`); set it again with `hearth passwd FILE USER`")]
    NotAHash,
    #[error("{0} hashes are not supported; Hearth reads $argon2id$, and $7$ and $6$ from mosquitto_passwd: set the password again with `hearth passwd FILE USER`")]
    Unsupported(&'static str),
    #[error("unknown hash scheme; Hearth reads $argon2id$, and $7$ and $6$ from mosquitto_passwd: set the password again with `hearth passwd FILE USER`")]
    UnknownScheme,
    #[error("{scheme} hash: expected {expected}")]
    Shape {
        scheme: &'static str,
        expected: &'static str,
    },
    #[error("{scheme} hash: the {field} is not valid base64")]
    BadBase64 {
        scheme: &'static str,
        field: &'static str,
    },
    #[error("{scheme} hash: the {field} must be {expected}, found {found} bytes")]
    BadLength {
        scheme: &'static str,
        field: &'static str,
        expected: &'static str,
        found: usize,
    },
    #[error("argon2id hash: {0}")]
    BadParameters(String),
    #[error("cannot read random bytes from the operating system for a salt: {0}")]
    Random(String),
}

impl StoredHash {
    /// Reads a hash as it appears after `user:` in a password file.
    pub fn parse(text: &str) -> Result<StoredHash, HashError> {
        if let Some(rest) = text.strip_prefix("$argon2id$") {
            parse_argon2id(rest)
        } else if let Some(rest) = text.strip_prefix("$7$") {
            parse_pbkdf2(rest)
        } else if let Some(rest) = text.strip_prefix("$6$") {
            parse_sha512(rest)
        } else if !text.starts_with('$') {
            Err(HashError::NotAHash)
        } else {
            Err(known_unsupported(text).map_or(HashError::UnknownScheme, HashError::Unsupported))
        }
    }

    /// Hashes a new password with argon2id, Hearth's parameters and a fresh random salt.
    pub fn new_argon2id(password: &[u8]) -> Result<StoredHash, HashError> {
        let mut salt = vec![0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|e| HashError::Random(e.to_string()))?;
        let mut hash = vec![0u8; HASH_LEN];
        argon2id(Version::V0x13, ARGON2_M_KIB, ARGON2_T, ARGON2_P, HASH_LEN).and_then(|a| {
            a.hash_password_into(password, &salt, &mut hash)
                .map_err(|e| HashError::BadParameters(e.to_string()))
        })?;
        Ok(StoredHash::Argon2id {
            version: Version::V0x13.into(),
            m_kib: ARGON2_M_KIB,
            t: ARGON2_T,
            p: ARGON2_P,
            salt,
            hash,
        })
    }

    /// Whether `password` hashes to this, compared in constant time. Costs what the stored
    /// parameters say (call it off the async runtime).
    pub fn verify(&self, password: &[u8]) -> bool {
        self.verify_in(password, &mut Argon2Memory::new())
    }

    /// [`StoredHash::verify`] with argon2id's working memory taken from `memory`, which is
    /// grown to what the hash's parameters need and may be handed to the next verification.
    /// Reusing it saves filling megabytes of fresh pages from the operating system for every
    /// verification, which costs about as much as the hash itself. What an earlier
    /// verification left in it makes no difference: argon2id writes every block before it
    /// reads it.
    pub fn verify_in(&self, password: &[u8], memory: &mut Argon2Memory) -> bool {
        match self {
            StoredHash::Argon2id {
                version,
                m_kib,
                t,
                p,
                salt,
                hash,
            } => {
                let Ok(version) = Version::try_from(*version) else {
                    return false;
                };
                let Ok(argon2) = argon2id(version, *m_kib, *t, *p, hash.len()) else {
                    return false;
                };
                let blocks = argon2.params().block_count();
                if memory.len() < blocks {
                    memory.resize(blocks, Block::default());
                }
                let mut out = vec![0u8; hash.len()];
                let hashed = argon2
                    .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..blocks])
                    .is_ok();
                hashed && bool::from(out.ct_eq(hash))
            }
            StoredHash::Pbkdf2Sha512 {
                iterations,
                salt,
                hash,
            } => {
                let mut out = [0u8; SHA512_LEN];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *iterations, &mut out);
                out.ct_eq(hash).into()
            }
            StoredHash::Sha512 { salt, hash } => {
                let out = Sha512::new()
                    .chain_update(password)
                    .chain_update(salt)
                    .finalize();
                out.as_slice().ct_eq(hash).into()
            }
        }
    }

    /// The text for a password file (after `user:`). It is the hash itself: never log it.
    pub fn encode(&self) -> String {
        match self {
            StoredHash::Argon2id {
                version,
                m_kib,
                t,
                p,
                salt,
                hash,
            } => format!(
                "$argon2id$v={version}$m={m_kib},t={t},p={p}${}${}",
                Base64Unpadded::encode_string(salt),
                Base64Unpadded::encode_string(hash)
            ),
            StoredHash::Pbkdf2Sha512 {
                iterations,
                salt,
                hash,
            } => format!(
                "$7${iterations}${}${}",
                Base64::encode_string(salt),
                Base64::encode_string(hash)
            ),
            StoredHash::Sha512 { salt, hash } => format!(
                "$6${}${}",
                Base64::encode_string(salt),
                Base64::encode_string(hash)
            ),
        }
    }

    /// The scheme's name, for logs and messages.
    pub fn scheme(&self) -> &'static str {
        match self {
            StoredHash::Argon2id { .. } => "argon2id",
            StoredHash::Pbkdf2Sha512 { .. } => "PBKDF2-SHA512",
            StoredHash::Sha512 { .. } => "SHA-512",
        }
    }

    /// A hash that no password matches but that costs as much to verify as this one: checked
    /// for unknown users, so the time of a refusal does not tell whether the user exists.
    pub fn decoy(&self) -> StoredHash {
        let mut decoy = self.clone();
        match &mut decoy {
            StoredHash::Argon2id { salt, hash, .. } => {
                salt.fill(0x5a);
                hash.fill(0);
            }
            StoredHash::Pbkdf2Sha512 { salt, hash, .. } | StoredHash::Sha512 { salt, hash } => {
                salt.fill(0x5a);
                hash.fill(0);
            }
        }
        decoy
    }

    /// [`StoredHash::decoy`] for Hearth's own parameters, when there is no user to copy.
    pub fn default_decoy() -> StoredHash {
        StoredHash::Argon2id {
            version: Version::V0x13.into(),
            m_kib: ARGON2_M_KIB,
            t: ARGON2_T,
            p: ARGON2_P,
            salt: vec![0x5a; SALT_LEN],
            hash: vec![0; HASH_LEN],
        }
    }
}

/// Scheme and parameters only: a Debug print must never show the salt or the hash.
impl fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredHash::Argon2id {
                version,
                m_kib,
                t,
                p,
                ..
            } => write!(f, "Argon2id(v={version}, m={m_kib}, t={t}, p={p})"),
            StoredHash::Pbkdf2Sha512 { iterations, .. } => {
                write!(f, "Pbkdf2Sha512(iterations={iterations})")
            }
            StoredHash::Sha512 { .. } => write!(f, "Sha512"),
        }
    }
}

fn argon2id(
    version: Version,
    m_kib: u32,
    t: u32,
    p: u32,
    out_len: usize,
) -> Result<Argon2<'static>, HashError> {
    let params = Params::new(m_kib, t, p, Some(out_len))
        .map_err(|e| HashError::BadParameters(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, version, params))
}

/// `v=19$m=4096,t=3,p=1$SALT$HASH` (the version may be absent: it is then 0x10, as in the
/// PHC format's definition).
fn parse_argon2id(rest: &str) -> Result<StoredHash, HashError> {
    const SCHEME: &str = "argon2id";
    const SHAPE: HashError = HashError::Shape {
        scheme: SCHEME,
        expected: "$argon2id$v=19$m=KIB,t=PASSES,p=LANES$SALT$HASH",
    };
    let mut fields: Vec<&str> = rest.split('$').collect();
    let version = match fields.first().and_then(|f| f.strip_prefix("v=")) {
        Some(v) => {
            let v = v.parse::<u32>().map_err(|_| SHAPE)?;
            fields.remove(0);
            v
        }
        None => Version::V0x10.into(),
    };
    let [params, salt, hash] = fields[..] else {
        return Err(SHAPE);
    };
    if Version::try_from(version).is_err() {
        return Err(HashError::BadParameters(format!(
            "version {version} is unknown (19 or 16)"
        )));
    }
    let mut m_t_p = [None; 3];
    for pair in params.split(',') {
        let (name, value) = pair.split_once('=').ok_or(SHAPE)?;
        let slot = match name {
            "m" => 0,
            "t" => 1,
            "p" => 2,
            _ => return Err(SHAPE),
        };
        let value = value.parse::<u32>().map_err(|_| {
            HashError::BadParameters(format!("{name} must be a positive whole number"))
        })?;
        if m_t_p[slot].replace(value).is_some() {
            return Err(SHAPE);
        }
    }
    let [Some(m_kib), Some(t), Some(p)] = m_t_p else {
        return Err(SHAPE);
    };
    let salt = decode_unpadded(SCHEME, "salt", salt)?;
    let hash = decode_unpadded(SCHEME, "hash", hash)?;
    if salt.len() < argon2::MIN_SALT_LEN {
        return Err(HashError::BadLength {
            scheme: SCHEME,
            field: "salt",
            expected: "at least 8",
            found: salt.len(),
        });
    }
    // Checks the parameters now, so a bad line is reported when the file is read.
    argon2id(Version::V0x13, m_kib, t, p, hash.len())?;
    Ok(StoredHash::Argon2id {
        version,
        m_kib,
        t,
        p,
        salt,
        hash,
    })
}

/// `ITERATIONS$SALT$HASH`.
fn parse_pbkdf2(rest: &str) -> Result<StoredHash, HashError> {
    const SCHEME: &str = "$7$ (PBKDF2-SHA512)";
    let [iterations, salt, hash] = rest.split('$').collect::<Vec<_>>()[..] else {
        return Err(HashError::Shape {
            scheme: SCHEME,
            expected: "$7$ITERATIONS$SALT$HASH",
        });
    };
    let iterations =
        iterations
            .parse::<u32>()
            .ok()
            .filter(|&i| i >= 1)
            .ok_or(HashError::Shape {
                scheme: SCHEME,
                expected: "a whole number of iterations of at least 1 after `$7$`",
            })?;
    Ok(StoredHash::Pbkdf2Sha512 {
        iterations,
        salt: mosquitto_salt(SCHEME, salt)?,
        hash: mosquitto_hash(SCHEME, hash)?,
    })
}

/// `SALT$HASH`.
fn parse_sha512(rest: &str) -> Result<StoredHash, HashError> {
    const SCHEME: &str = "$6$ (SHA-512)";
    let [salt, hash] = rest.split('$').collect::<Vec<_>>()[..] else {
        return Err(HashError::Shape {
            scheme: SCHEME,
            expected: "$6$SALT$HASH",
        });
    };
    Ok(StoredHash::Sha512 {
        salt: mosquitto_salt(SCHEME, salt)?,
        hash: mosquitto_hash(SCHEME, hash)?,
    })
}

fn mosquitto_salt(scheme: &'static str, text: &str) -> Result<Vec<u8>, HashError> {
    let salt = decode_padded(scheme, "salt", text)?;
    if salt.is_empty() {
        return Err(HashError::BadLength {
            scheme,
            field: "salt",
            expected: "at least 1",
            found: 0,
        });
    }
    Ok(salt)
}

fn mosquitto_hash(scheme: &'static str, text: &str) -> Result<[u8; SHA512_LEN], HashError> {
    let hash = decode_padded(scheme, "hash", text)?;
    hash.as_slice()
        .try_into()
        .map_err(|_| HashError::BadLength {
            scheme,
            field: "hash",
            expected: "64 (a SHA-512)",
            found: hash.len(),
        })
}

/// Mosquitto writes padded base64; hand-made files sometimes drop the padding.
fn decode_padded(
    scheme: &'static str,
    field: &'static str,
    text: &str,
) -> Result<Vec<u8>, HashError> {
    Base64::decode_vec(text)
        .or_else(|_| Base64Unpadded::decode_vec(text))
        .map_err(|_| HashError::BadBase64 { scheme, field })
}

fn decode_unpadded(
    scheme: &'static str,
    field: &'static str,
    text: &str,
) -> Result<Vec<u8>, HashError> {
    Base64Unpadded::decode_vec(text).map_err(|_| HashError::BadBase64 { scheme, field })
}

/// Names a scheme from its fixed prefix, so the message can say what it is without quoting it.
fn known_unsupported(text: &str) -> Option<&'static str> {
    [
        ("$argon2i$", "argon2i"),
        ("$argon2d$", "argon2d"),
        ("$2a$", "bcrypt"),
        ("$2b$", "bcrypt"),
        ("$2y$", "bcrypt"),
        ("$5$", "SHA-256-crypt"),
        ("$1$", "MD5-crypt"),
        ("$pbkdf2", "passlib PBKDF2"),
        ("$scrypt$", "scrypt"),
    ]
    .into_iter()
    .find(|(prefix, _)| text.starts_with(prefix))
    .map(|(_, name)| name)
}

#[cfg(test)]
pub(crate) mod tests;
