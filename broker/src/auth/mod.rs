//! Who may connect (the password file, its hashes, the CONNECT check) and what a connected
//! client may do (access control lists).

pub mod acl;
pub mod authenticator;
pub mod hash;
pub mod password_file;

pub use acl::{Acl, AclRule, ClientAcl};
pub use authenticator::{users_changed, AuthOutcome, Authenticator};
pub use hash::{HashError, StoredHash};
pub use password_file::{LineError, LineProblem, PasswordFile, PasswordFileError, SetOutcome};
