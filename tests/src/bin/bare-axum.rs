//! The hardware limit for the load bench: an axum server that answers every request `200 OK`
//! without reading anything, on the same runtime settings as the relay's local server.
//!
//!     bare-axum 127.0.0.1:3002

use axum::Router;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3002".into());
    let app = Router::new().fallback(|| async { "OK" });
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    axum::serve(listener, app).await
}
