//! The load bench's two floors, on the relay's runtime settings (one-thread tokio, axum):
//!
//! - `bare-axum ADDR`: answers every request `200 OK` without reading it — the HTTP server's limit.
//! - `bare-axum ADDR SLACK_API_URL`: for every request, reads the body and makes one
//!   `chat.postMessage` call with a fixed, pre-serialized message through one reqwest client
//!   (keep-alive, a token header built once), then answers Slack's bytes — the least any relay
//!   built on axum + reqwest does per webhook, so the relay's own work is the difference.

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:3002".into());
    let app = match args.next() {
        None => Router::new().fallback(|| async { "OK" }),
        Some(api_url) => forwarder(&api_url),
    };
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    axum::serve(listener, app).await
}

fn forwarder(api_url: &str) -> Router {
    let url = reqwest::Url::parse(&format!("{api_url}/chat.postMessage")).expect("a valid URL");
    let client = reqwest::Client::new();
    let token = std::env::var("SLACK_TOKEN").unwrap_or_default();
    let mut auth = HeaderValue::try_from(format!("Bearer {token}")).expect("a header value");
    auth.set_sensitive(true);
    let message = Bytes::from(format!(
        r#"{{"channel":{:?},"text":"stack_update succeeded: acme/website/production","blocks":[{{"type":"section","text":{{"type":"mrkdwn","text":"*Update succeeded* acme/website/production"}}}}]}}"#,
        std::env::var("SLACK_CHANNEL").unwrap_or_default()
    ));
    // `GET /` (the bench's start-up probe) answers without a post, as the relay's banner does.
    let forward = axum::routing::post(move |body: Bytes| {
        let (client, url, auth, message) =
            (client.clone(), url.clone(), auth.clone(), message.clone());
        async move {
            drop(body);
            let answer = client
                .post(url)
                .header("authorization", auth)
                .header("content-type", "application/json; charset=utf-8")
                .body(message)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            answer.bytes().await.map_err(|e| e.to_string())
        }
    });
    Router::new().route("/", forward.get(|| async { "OK" }))
}
