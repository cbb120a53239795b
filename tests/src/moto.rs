//! moto (`pip install "moto[server]"`), a local AWS API, on a loopback port: SSM Parameter Store,
//! DynamoDB and SQS answer the relay's real AWS SDK calls as AWS would.
//!
//! DynamoDB is reached through [`OneAtATime`], a proxy that hands moto one request at a time:
//! moto serves each request on a thread of its own and checks a conditional write's condition
//! before writing, without a lock, so two concurrent `attribute_not_exists` puts of one key can
//! both succeed. DynamoDB never allows that (a conditional write is atomic), and the relay's
//! exactly-once claims rely on it.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use handler::aws::Aws;
use handler::relay::Clients;
use handler::state::StateTable;

use crate::relay::free_port;

/// A moto server; killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
    /// Where DynamoDB requests go: [`OneAtATime`] in front of `endpoint`.
    dynamodb: OneAtATime,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The URLs (and the retry queue's ARN) of [`Moto::retry_queues`].
pub struct RetryQueues {
    pub queue: String,
    pub queue_arn: String,
    pub dead_letters: String,
}

impl RetryQueues {
    /// The environment that points a relay at them.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("RETRY_QUEUE_URL", self.queue.clone()),
            ("DEAD_LETTER_QUEUE_URL", self.dead_letters.clone()),
        ]
    }
}

/// Dummy credentials and a region, as the relay would get from the Lambda environment.
const AWS_ENV: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "eu-west-1"),
];

impl Moto {
    pub async fn start() -> Moto {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is installed (pip install \"moto[server]\")");
        let endpoint = format!("http://127.0.0.1:{port}");
        let moto = Moto {
            child,
            dynamodb: OneAtATime::start(&endpoint),
            endpoint,
        };
        // Polled, not slept: moto takes a second or two to import its backends.
        for _ in 0..400 {
            if reqwest::get(format!("{}/moto-api/", moto.endpoint))
                .await
                .is_ok()
            {
                return moto;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("moto_server did not start within 10 s");
    }

    /// The environment the relay needs to reach moto: credentials, region, endpoint.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env: Vec<_> = AWS_ENV.iter().map(|(k, v)| (*k, v.to_string())).collect();
        env.push(("AWS_ENDPOINT_URL", self.endpoint.clone()));
        env.push(("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb.url.clone()));
        env
    }

    fn var(&self) -> impl Fn(&str) -> Option<String> + Send + Sync + use<> {
        let env = self.env();
        move |name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    }

    /// What the relay calls out to, its AWS pointed at moto.
    pub fn clients(&self) -> Clients {
        Clients::new(
            handler::http::client(handler::http::Roots::BuiltIn).expect("an HTTP client"),
            self.var(),
        )
    }

    fn aws(&self) -> Aws {
        let http = handler::http::client(handler::http::Roots::BuiltIn).expect("an HTTP client");
        Aws::from_env(self.var(), &http).expect("complete AWS environment")
    }

    /// The relay's own SSM client, pointed at moto.
    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        self.aws().ssm()
    }

    pub async fn put_secure_string(&self, name: &str, value: &str) {
        self.ssm()
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .expect("moto stores the parameter");
    }

    /// The relay's own SQS client, pointed at moto.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        self.aws().sqs()
    }

    /// The relay's two queues, created in moto as `infra` declares them: FIFO, the retry queue's
    /// redrive policy naming the dead-letter queue. Returns their URLs.
    pub async fn retry_queues(&self, name: &str) -> RetryQueues {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        use relay_core::contract::queue;
        let sqs = self.sqs();
        let create = async |name: String, extra: Vec<(A, String)>| {
            let mut request = sqs
                .create_queue()
                .queue_name(name)
                .attributes(A::FifoQueue, "true")
                .attributes(
                    A::VisibilityTimeout,
                    queue::VISIBILITY_TIMEOUT.as_secs().to_string(),
                )
                .attributes(
                    A::MessageRetentionPeriod,
                    queue::RETENTION.as_secs().to_string(),
                );
            for (key, value) in extra {
                request = request.attributes(key, value);
            }
            let url = request
                .send()
                .await
                .expect("moto creates the queue")
                .queue_url
                .unwrap();
            let arn = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(A::QueueArn)
                .send()
                .await
                .unwrap()
                .attributes
                .unwrap()
                .remove(&A::QueueArn)
                .unwrap();
            (url, arn)
        };
        let (dead_letters, dead_letters_arn) =
            create(format!("{name}-dead-letters.fifo"), vec![]).await;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dead_letters_arn,
            "maxReceiveCount": queue::MAX_RECEIVE_COUNT,
        });
        let (queue, queue_arn) = create(
            format!("{name}.fifo"),
            vec![(A::RedrivePolicy, redrive.to_string())],
        )
        .await;
        RetryQueues {
            queue,
            queue_arn,
            dead_letters,
        }
    }

    /// The relay's state table `name`, created in moto as `infra` declares it.
    pub async fn state_table(&self, name: &str) -> StateTable {
        let table = StateTable::new(self.aws().dynamodb(), name);
        table.create().await.expect("moto creates the table");
        table
    }
}

/// A loopback proxy that forwards each request to `upstream` only once the one before it has been
/// answered: DynamoDB's atomic conditional writes, from moto (see the module's comment). It runs on
/// a thread of its own, so a test blocking its runtime (waiting for a process, say) does not stall
/// a relay binary's calls. Stops when dropped.
struct OneAtATime {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for OneAtATime {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Clone)]
struct Upstream {
    url: String,
    http: reqwest::Client,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl OneAtATime {
    fn start(upstream: &str) -> OneAtATime {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let upstream = Upstream {
            url: upstream.to_owned(),
            http: reqwest::Client::new(),
            turn: Arc::default(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the proxy");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(forward).with_state(upstream);
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
        });
        OneAtATime {
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

async fn forward(
    axum::extract::State(upstream): axum::extract::State<Upstream>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let bad_gateway = |why: String| (reqwest::StatusCode::BAD_GATEWAY, why).into_response();
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return bad_gateway("the request body could not be read".into());
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let _turn = upstream.turn.lock().await;
    let answer = upstream
        .http
        .request(parts.method, format!("{}{path}", upstream.url))
        .headers(parts.headers)
        .body(body)
        .send()
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => return bad_gateway(format!("moto did not answer: {error}")),
    };
    let status = answer.status();
    let mut headers = answer.headers().clone();
    for hop in [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
    ] {
        headers.remove(hop);
    }
    match answer.bytes().await {
        Ok(bytes) => (status, headers, bytes).into_response(),
        Err(error) => bad_gateway(format!("moto's answer could not be read: {error}")),
    }
}
