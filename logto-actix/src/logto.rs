//! The Logto state of an actix-web app: the client, the session store and the base URL,
//! built once and shared by the routes and the extractors.

logto_web::__framework_state! {
    /// Logto for an actix-web app: the app's [`LogtoClient`](crate::LogtoClient), its session store
    /// and its base URL (the framework-neutral [`LogtoWeb`](crate::LogtoWeb), which it dereferences
    /// to), and the routes. Cheap to clone (one reference count): build it once, before
    /// `HttpServer::new`, and [`configure`](Self::configure) every worker's app with it.
    pub struct Logto;
    /// A builder for an app served at `base_url` (an origin such as
    /// `https://app.example.com`). The callback is `<base_url>/callback`: register it as a
    /// redirect URI in Logto Console, and `<base_url>/` as a post sign-out redirect URI.
    pub fn builder;
}
