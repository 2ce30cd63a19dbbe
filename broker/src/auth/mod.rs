//! Who may connect: the password file, its hashes, and the CONNECT check.

pub mod authenticator;
pub mod hash;
pub mod password_file;

pub use authenticator::{users_changed, AuthOutcome, Authenticator};
pub use hash::{HashError, StoredHash};
pub use password_file::{LineError, LineProblem, PasswordFile, PasswordFileError, SetOutcome};
