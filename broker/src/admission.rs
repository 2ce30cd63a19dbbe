//! Whether a CONNECT may go on to the router: its credentials checked against the listener's
//! users (off the router task: hashing is slow on purpose), or its TLS client certificate's
//! name taken as its user name. Refusals are logged with the client's address, never with a
//! password.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use log::{info, Level};

use super::auth::AuthOutcome;
use super::codec::v5::{ConnackReason, Connect};
use super::listener::Origin;
use super::log_limit::{LogLimiter, Refusal};

/// Who the client turned out to be, and against which users that was decided.
pub(crate) struct Admitted {
    /// `None` for an anonymous client.
    pub username: Option<Arc<str>>,
    /// See [`crate::event::ClientIdentity::users_generation`].
    pub users_generation: u64,
}

/// Refusals go through `refusals`: a node retrying a wrong password every few seconds must not
/// fill the journal.
pub(crate) async fn admit(
    origin: &Origin,
    connect: &Connect,
    refusals: &LogLimiter,
) -> Result<Admitted, ConnackReason> {
    let listener = &origin.listener;
    if listener.kind_uses_certificate_names() {
        // Mosquitto's `use_identity_as_username`: the verified certificate is the credential,
        // and a password sent along is not looked at.
        return match &origin.certificate_name {
            Some(name) => Ok(Admitted {
                username: Some(name.as_str().into()),
                users_generation: listener.authenticator().generation(),
            }),
            None => {
                refusals.log(
                    Level::Info,
                    Some(origin.peer.ip()),
                    Refusal::Credentials,
                    format_args!(
                        "refused connection from {} on listener {}: no client certificate to take the user name from client={}",
                        origin.peer, listener.name, connect.client_id
                    ),
                );
                Err(ConnackReason::NotAuthorized)
            }
        };
    }
    // Checked again if the users were reloaded meanwhile: a user removed while its hash was
    // being verified must not get in on the old file.
    let (authenticator, outcome) = loop {
        let authenticator = listener.authenticator();
        let outcome = authenticator
            .check(connect.username.as_deref(), connect.password.as_deref())
            .await;
        if Arc::ptr_eq(&authenticator, &listener.authenticator()) {
            break (authenticator, outcome);
        }
    };
    match outcome {
        AuthOutcome::Accepted {
            username,
            credentials_ignored,
        } => {
            if credentials_ignored
                && !listener
                    .credentials_ignored_logged
                    .swap(true, Ordering::Relaxed)
            {
                info!(
                    "client {} from {} sent a user name or password on listener {}, where no users are configured: they are ignored (logged once)",
                    connect.client_id, origin.peer, listener.name
                );
            }
            // Without users, a user name is only the client's claim: it names nobody.
            Ok(Admitted {
                username: if authenticator.has_users() {
                    username.map(Arc::from)
                } else {
                    None
                },
                users_generation: authenticator.generation(),
            })
        }
        refused => {
            let why = match refused {
                AuthOutcome::BadCredentials => "bad user name or password",
                _ => "no user name and password, which this listener requires",
            };
            refusals.log(
                Level::Info,
                Some(origin.peer.ip()),
                Refusal::Credentials,
                format_args!(
                    "refused connection from {} on listener {}: {why} client={} user={}",
                    origin.peer,
                    listener.name,
                    connect.client_id,
                    connect.username.as_deref().unwrap_or("-")
                ),
            );
            Err(refused.connack_reason())
        }
    }
}
