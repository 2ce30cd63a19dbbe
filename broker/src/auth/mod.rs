//! Who may connect: the password file, its hashes, and the CONNECT check.

pub mod hash;

pub use hash::{HashError, StoredHash};
