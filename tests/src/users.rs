//! A password file in a directory of its own, written the way `hearth passwd` writes it
//! (argon2id), for brokers started with users; removed with the value.

use std::path::{Path, PathBuf};

use broker::auth::password_file::{delete_user, set_user};

pub struct Users {
    dir: PathBuf,
    path: PathBuf,
}

impl Users {
    /// A password file holding `users` (name, password), in file order. `name` keeps tests
    /// running at once apart.
    pub fn new(name: &str, users: &[(&str, &str)]) -> Users {
        let dir = std::env::temp_dir().join(format!("hearth-e2e-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the password file's directory");
        let path = dir.join("passwd");
        // A file without users is still a password file: every client must then be refused.
        std::fs::write(&path, "").expect("create the password file");
        let file = Users { dir, path };
        for (user, password) in users {
            file.set(user, password);
        }
        file
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `[broker]` line naming this file (`BrokerOptions::broker_keys`).
    pub fn broker_key(&self) -> String {
        format!("password_file = \"{}\"\n", self.path.display())
    }

    /// Adds `user`, or changes its password.
    pub fn set(&self, user: &str, password: &str) {
        if let Err(e) = set_user(&self.path, user, password.as_bytes()) {
            panic!("cannot set user {user}: {e}");
        }
    }

    pub fn remove(&self, user: &str) {
        if let Err(e) = delete_user(&self.path, user) {
            panic!("cannot remove user {user}: {e}");
        }
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
