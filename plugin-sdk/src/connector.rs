//! The [`Connector`] trait a plugin implements, the adapter that turns it into the contract's
//! exports, and the [`export!`](crate::export) macro. Operations a connector leaves out answer
//! `unsupported`, as the contract requires.

use std::marker::PhantomData;

use crate::__private::bindings::exports::zondarr::connector::{auth, connector, oauth};
use crate::__private::bindings::zondarr::connector::host;
use crate::__private::bindings::zondarr::connector::types::ConnectorError;
use crate::error::{Error, Result};
use crate::server::Server;
use crate::types::{
    Authenticated, CreatedUser, DeleteOptions, Library, LibraryAccess, LinkStart, LinkStatus,
    Manifest, NewUser, PermissionValue, RemoteUser, ServerInfo,
};

/// A media-server connector.
///
/// Every call runs in a fresh sandboxed instance, so the functions take no `self` and a connector
/// keeps no state between calls: what it needs arrives as arguments or through the [`Server`].
/// Only [`describe`](Self::describe) is required. Every other operation answers
/// [`Error::Unsupported`] until you implement it; declare the ones you implement in the
/// manifest's capabilities (see each method for its capability).
///
/// Register the type with [`export!`](crate::export).
pub trait Connector {
    /// Describes the connector: id, name, version, capabilities, permissions, configuration
    /// fields, credential injection, extra hosts. Called without network access when the plugin
    /// is loaded, and it must always answer the same.
    fn describe() -> Manifest;

    /// Checks the URL and credentials and identifies the server. Every connector should
    /// implement it: the daemon runs it before it saves a server.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for bad credentials, [`Error::Unreachable`] and the like.
    fn test_connection(server: &Server<'_>) -> Result<ServerInfo> {
        let _ = server;
        Err(Error::unsupported("test-connection"))
    }

    /// Lists the content libraries (no capability needed; return an empty list if the server
    /// has no libraries).
    ///
    /// # Errors
    /// Any [`Error`].
    fn list_libraries(server: &Server<'_>) -> Result<Vec<Library>> {
        let _ = server;
        Err(Error::unsupported("list-libraries"))
    }

    /// Lists the accounts on the server. Capability [`ListUsers`](crate::Capability::ListUsers).
    ///
    /// # Errors
    /// Any [`Error`].
    fn list_users(server: &Server<'_>) -> Result<Vec<RemoteUser>> {
        let _ = server;
        Err(Error::unsupported("list-users"))
    }

    /// The account on the server that [`create_user`](Self::create_user) with this input would
    /// collide with or take over, if any (read-only): the account with the same name, compared as
    /// the server compares names, or the linked account's existing share. The daemon calls it
    /// right before `create_user`, and again to settle a `create_user` whose outcome it does not
    /// know; without it such an account is reported to the admin instead of removed. The
    /// password is never set here, and a linked account's token may be empty. Capability
    /// [`FindUser`](crate::Capability::FindUser).
    ///
    /// # Errors
    /// Any [`Error`].
    fn find_user(server: &Server<'_>, user: &NewUser) -> Result<Option<RemoteUser>> {
        let _ = (server, user);
        Err(Error::unsupported("find-user"))
    }

    /// Creates an account (or shares the server with a linked account), with libraries and
    /// permissions applied, and says whether it was made by this call
    /// ([`CreatedUser::created`]) or existed before ([`CreatedUser::adopted`]; the daemon never
    /// deletes those). If it fails half-way it removes what it made before answering an error.
    /// Capability [`CreateUser`](crate::Capability::CreateUser).
    ///
    /// # Errors
    /// [`Error::UsernameTaken`], [`Error::InvalidInput`] (e.g. a password the server refuses),
    /// or any other [`Error`]. `Timeout`, `Unreachable`, `RemoteStatus`, `InvalidResponse` and
    /// `Internal` tell the daemon that an account may exist; the others that none was made.
    fn create_user(server: &Server<'_>, user: NewUser) -> Result<CreatedUser> {
        let _ = (server, user);
        Err(Error::unsupported("create-user"))
    }

    /// Deletes an account, or removes its access to this server. Capability
    /// [`DeleteUser`](crate::Capability::DeleteUser).
    ///
    /// # Errors
    /// [`Error::NotFound`] or any other [`Error`].
    fn delete_user(server: &Server<'_>, user_id: &str, options: DeleteOptions) -> Result<()> {
        let _ = (server, user_id, options);
        Err(Error::unsupported("delete-user"))
    }

    /// Disables or enables an account. Capability [`SetEnabled`](crate::Capability::SetEnabled).
    ///
    /// # Errors
    /// Any [`Error`].
    fn set_enabled(server: &Server<'_>, user_id: &str, enabled: bool) -> Result<()> {
        let _ = (server, user_id, enabled);
        Err(Error::unsupported("set-enabled"))
    }

    /// Replaces the libraries an account may see. Capability
    /// [`LibraryAccess`](crate::Capability::LibraryAccess).
    ///
    /// # Errors
    /// Any [`Error`].
    fn set_library_access(server: &Server<'_>, user_id: &str, access: LibraryAccess) -> Result<()> {
        let _ = (server, user_id, access);
        Err(Error::unsupported("set-library-access"))
    }

    /// Applies permission values; keys not listed keep their current value. Capability
    /// [`Permissions`](crate::Capability::Permissions).
    ///
    /// # Errors
    /// Any [`Error`].
    fn set_permissions(
        server: &Server<'_>,
        user_id: &str,
        permissions: Vec<PermissionValue>,
    ) -> Result<()> {
        let _ = (server, user_id, permissions);
        Err(Error::unsupported("set-permissions"))
    }

    /// Sets an account's password. Capability [`SetPassword`](crate::Capability::SetPassword).
    ///
    /// # Errors
    /// Any [`Error`].
    fn set_password(server: &Server<'_>, user_id: &str, password: &str) -> Result<()> {
        let _ = (server, user_id, password);
        Err(Error::unsupported("set-password"))
    }

    /// Starts PIN-style account linking ("Sign in with …"). Capability
    /// [`OauthLink`](crate::Capability::OauthLink), with the `oauth-link` join flow.
    ///
    /// # Errors
    /// Any [`Error`].
    fn start_link(server: &Server<'_>) -> Result<LinkStart> {
        let _ = server;
        Err(Error::unsupported("start-link"))
    }

    /// Checks whether the invitee approved the link started with [`start_link`](Self::start_link).
    ///
    /// # Errors
    /// Any [`Error`].
    fn poll_link(server: &Server<'_>, pin_id: &str) -> Result<LinkStatus> {
        let _ = (server, pin_id);
        Err(Error::unsupported("poll-link"))
    }

    /// Checks a username and password against the server (admin sign-in); wrong credentials are
    /// [`Error::Unauthorized`]. Capability [`Authenticate`](crate::Capability::Authenticate).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] or any other [`Error`].
    fn authenticate(server: &Server<'_>, username: &str, password: &str) -> Result<Authenticated> {
        let _ = (server, username, password);
        Err(Error::unsupported("authenticate"))
    }
}

/// Implements the generated export traits for any [`Connector`]; [`export!`](crate::export)
/// exports `Adapter<YourConnector>`.
#[doc(hidden)]
pub struct Adapter<T>(PhantomData<fn() -> T>);

fn wire<T>(result: Result<T>) -> std::result::Result<T, ConnectorError> {
    result.map_err(ConnectorError::from)
}

impl<T: Connector> connector::Guest for Adapter<T> {
    fn describe() -> Manifest {
        T::describe()
    }

    fn test_connection(server: &host::Server) -> std::result::Result<ServerInfo, ConnectorError> {
        wire(T::test_connection(&Server::from_host(server)))
    }

    fn list_libraries(server: &host::Server) -> std::result::Result<Vec<Library>, ConnectorError> {
        wire(T::list_libraries(&Server::from_host(server)))
    }

    fn list_users(server: &host::Server) -> std::result::Result<Vec<RemoteUser>, ConnectorError> {
        wire(T::list_users(&Server::from_host(server)))
    }

    fn find_user(
        server: &host::Server,
        user: NewUser,
    ) -> std::result::Result<Option<RemoteUser>, ConnectorError> {
        wire(T::find_user(&Server::from_host(server), &user))
    }

    fn create_user(
        server: &host::Server,
        user: NewUser,
    ) -> std::result::Result<CreatedUser, ConnectorError> {
        wire(T::create_user(&Server::from_host(server), user))
    }

    fn delete_user(
        server: &host::Server,
        user_id: String,
        options: DeleteOptions,
    ) -> std::result::Result<(), ConnectorError> {
        wire(T::delete_user(
            &Server::from_host(server),
            &user_id,
            options,
        ))
    }

    fn set_enabled(
        server: &host::Server,
        user_id: String,
        enabled: bool,
    ) -> std::result::Result<(), ConnectorError> {
        wire(T::set_enabled(
            &Server::from_host(server),
            &user_id,
            enabled,
        ))
    }

    fn set_library_access(
        server: &host::Server,
        user_id: String,
        access: LibraryAccess,
    ) -> std::result::Result<(), ConnectorError> {
        wire(T::set_library_access(
            &Server::from_host(server),
            &user_id,
            access,
        ))
    }

    fn set_permissions(
        server: &host::Server,
        user_id: String,
        permissions: Vec<PermissionValue>,
    ) -> std::result::Result<(), ConnectorError> {
        wire(T::set_permissions(
            &Server::from_host(server),
            &user_id,
            permissions,
        ))
    }

    fn set_password(
        server: &host::Server,
        user_id: String,
        password: String,
    ) -> std::result::Result<(), ConnectorError> {
        wire(T::set_password(
            &Server::from_host(server),
            &user_id,
            &password,
        ))
    }
}

impl<T: Connector> oauth::Guest for Adapter<T> {
    fn start_link(server: &host::Server) -> std::result::Result<LinkStart, ConnectorError> {
        wire(T::start_link(&Server::from_host(server)))
    }

    fn poll_link(
        server: &host::Server,
        pin_id: String,
    ) -> std::result::Result<LinkStatus, ConnectorError> {
        wire(T::poll_link(&Server::from_host(server), &pin_id))
    }
}

impl<T: Connector> auth::Guest for Adapter<T> {
    fn authenticate(
        server: &host::Server,
        username: String,
        password: String,
    ) -> std::result::Result<Authenticated, ConnectorError> {
        wire(T::authenticate(
            &Server::from_host(server),
            &username,
            &password,
        ))
    }
}

/// Exports a [`Connector`] as the plugin's implementation of the contract. Call it once, at the
/// top level of the plugin crate:
///
/// ```
/// use zondarr_plugin_sdk::prelude::*;
///
/// struct MyConnector;
///
/// impl Connector for MyConnector {
///     fn describe() -> Manifest {
///         Manifest::new("my-server", "My Server", "0.1.0", "Connects to My Server.")
///     }
/// }
///
/// zondarr_plugin_sdk::export!(MyConnector);
/// ```
///
/// On `wasm32` it emits the component exports (`zondarr:connector/connector@0.3.0` and the
/// optional `oauth` and `auth` interfaces) and the embedded component type. On any other target it
/// only checks that the type implements [`Connector`]: the export symbol names cannot be linked
/// into a native `cdylib`, and this way `cargo build`, `cargo test` and `cargo clippy` work on a
/// plugin crate natively.
#[macro_export]
macro_rules! export {
    ($connector:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type ZondarrExportedConnector = $crate::__private::Adapter<$connector>;
            $crate::__private::bindings::__export_full_plugin!(
                ZondarrExportedConnector with_types_in $crate::__private::bindings
            );
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            const fn assert_connector<T: $crate::Connector>() {}
            assert_connector::<$connector>();
        };
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::MockServer;

    struct Minimal;

    impl Connector for Minimal {
        fn describe() -> Manifest {
            Manifest::new("minimal", "Minimal", "0.1.0", "Nothing but a manifest.")
        }
    }

    crate::export!(Minimal);

    #[test]
    fn every_optional_operation_defaults_to_unsupported() {
        let mock = MockServer::new("http://fake.test", |_, _| Err(Error::Internal("no".into())));
        let server = mock.server();
        let unsupported = |result: Result<()>| match result {
            Err(Error::Unsupported(message)) => message,
            other => panic!("expected unsupported, got {other:?}"),
        };
        let user = NewUser {
            username: "a".into(),
            password: None,
            email: None,
            linked_account: None,
            libraries: LibraryAccess::All,
            permissions: Vec::new(),
        };
        let messages = [
            unsupported(Minimal::find_user(&server, &user).map(drop)),
            unsupported(Minimal::test_connection(&server).map(drop)),
            unsupported(Minimal::list_libraries(&server).map(drop)),
            unsupported(Minimal::list_users(&server).map(drop)),
            unsupported(Minimal::create_user(&server, user).map(drop)),
            unsupported(Minimal::delete_user(
                &server,
                "1",
                DeleteOptions {
                    remove_account: false,
                },
            )),
            unsupported(Minimal::set_enabled(&server, "1", true)),
            unsupported(Minimal::set_library_access(
                &server,
                "1",
                LibraryAccess::All,
            )),
            unsupported(Minimal::set_permissions(&server, "1", Vec::new())),
            unsupported(Minimal::set_password(&server, "1", "pw")),
            unsupported(Minimal::start_link(&server).map(drop)),
            unsupported(Minimal::poll_link(&server, "p").map(drop)),
            unsupported(Minimal::authenticate(&server, "u", "p").map(drop)),
        ];
        assert!(messages[5].starts_with("delete-user "));
        assert!(
            messages
                .iter()
                .all(|m| m.ends_with("is not supported by this connector"))
        );
        assert!(mock.calls().is_empty());
    }

    #[test]
    fn adapter_forwards_describe() {
        let manifest = <Adapter<Minimal> as connector::Guest>::describe();
        assert_eq!(manifest.id, "minimal");
    }
}
