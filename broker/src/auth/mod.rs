//! Who may connect and what a connected client may do.

pub mod acl;
