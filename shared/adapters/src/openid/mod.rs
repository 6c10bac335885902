//! The OpenID Connect client: Google and Microsoft (Entra), authorization code + PKCE,
//! ID token verification. The sign-in use case is `app::sign_in`.

pub mod provider;
pub mod providers;
