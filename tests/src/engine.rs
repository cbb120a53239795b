//! A stand-in for the Pulumi engine, so the `infra` program can be run here as `pulumi up` and
//! `pulumi preview` would run it, without the Pulumi CLI or AWS.
//!
//! It serves the real gRPC services (`pulumirpc.ResourceMonitor` and `pulumirpc.Engine`, from the
//! protos Pulumi Gestalt is built with) on loopback, starts the compiled program with the language
//! host's environment (`PULUMI_MONITOR`, `PULUMI_CONFIG`, …), answers each registration as the
//! AWS, random and pulumiservice providers would (inputs echoed, computed outputs such as ARNs and
//! URLs filled in; left unknown during preview), and records every request for the tests to
//! inspect. Every custom resource is checked against the vendored provider schema: unknown type or
//! property, missing required input, a value of the wrong type or a secret sent in plain text is
//! reported in [`Run::schema_errors`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use prost_types::value::Kind as ProtoKind;
use pulumi_gestalt_proto::pulumi::pulumirpc;
use pulumi_gestalt_proto::pulumi::pulumirpc::engine_server::{Engine, EngineServer};
use pulumi_gestalt_proto::pulumi::pulumirpc::resource_monitor_server::{
    ResourceMonitor, ResourceMonitorServer,
};
use serde_json::{Map, Value, json};
use tonic::{Request, Response, Status};

use crate::schema::{Schema, Validation};

/// Pulumi's marker key for special values (secrets, archives, assets) in property maps.
pub const SIG: &str = "4dabf18193072939515e22adb298388d";
pub const SECRET_SIG: &str = "1b47061264138c4ac30d75fd1eb44270";
pub const ARCHIVE_SIG: &str = "0def7320c3a5731c473e5ecbe6d01bc7";
/// The value Pulumi sends for an output that is not known yet (during preview).
pub const UNKNOWN: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// How to run the program.
#[derive(Debug, Clone)]
pub struct Program {
    pub binary: PathBuf,
    pub project: String,
    pub stack: String,
    pub organization: String,
    pub root_directory: PathBuf,
    /// Keys without the project prefix.
    pub config: BTreeMap<String, String>,
    /// Keys (without prefix) set with `--secret`.
    pub secret_keys: Vec<String>,
    pub preview: bool,
}

/// One `RegisterResource` call, decoded to JSON (secrets keep their wrapper objects).
#[derive(Debug, Clone)]
pub struct Registration {
    pub type_: String,
    pub name: String,
    pub custom: bool,
    pub version: String,
    pub provider: String,
    pub inputs: Value,
    pub outputs: Value,
    pub urn: String,
    pub id: String,
}

/// What happened during one run.
#[derive(Debug, Default, Clone)]
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
    pub registrations: Vec<Registration>,
    /// The stack's exports, from `RegisterResourceOutputs` on the stack resource.
    pub stack_outputs: Option<Value>,
    /// Every request received, as JSON, in order: what a leak check scans.
    pub requests: Vec<Value>,
    pub schema_errors: Vec<String>,
    /// The program's wall time, process start to exit.
    pub elapsed: std::time::Duration,
}

impl Run {
    /// The one registration of `type_` named `name`.
    pub fn resource(&self, type_: &str, name: &str) -> &Registration {
        let found: Vec<_> = self
            .registrations
            .iter()
            .filter(|r| r.type_ == type_ && r.name == name)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {type_} named {name}, got {}",
            found.len()
        );
        found[0]
    }

    /// Every registration of `type_`.
    pub fn of_type(&self, type_: &str) -> Vec<&Registration> {
        self.registrations
            .iter()
            .filter(|r| r.type_ == type_)
            .collect()
    }

    /// An export of the stack, secret wrapper included.
    pub fn export(&self, key: &str) -> Option<&Value> {
        self.stack_outputs.as_ref().and_then(|o| o.get(key))
    }
}

/// Is `value` a Pulumi secret wrapper?
pub fn is_secret(value: &Value) -> bool {
    value.get(SIG).and_then(Value::as_str) == Some(SECRET_SIG)
}

/// The value inside a secret wrapper, or the value itself.
pub fn reveal(value: &Value) -> &Value {
    if is_secret(value) {
        &value["value"]
    } else {
        value
    }
}

/// Paths (like `/object/value`) where `needle` occurs in a string not inside a secret wrapper.
pub fn plaintext_occurrences(value: &Value, needle: &str) -> Vec<String> {
    fn walk(value: &Value, needle: &str, path: String, out: &mut Vec<String>) {
        if is_secret(value) {
            return;
        }
        match value {
            Value::String(s) if s.contains(needle) => out.push(path),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, needle, format!("{path}/{i}"), out);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    if k.contains(needle) {
                        out.push(format!("{path}/<key {k}>"));
                    }
                    walk(v, needle, format!("{path}/{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, needle, String::new(), &mut out);
    out
}

pub fn struct_to_json(s: &prost_types::Struct) -> Value {
    Value::Object(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), value_to_json(v)))
            .collect(),
    )
}

fn value_to_json(v: &prost_types::Value) -> Value {
    match &v.kind {
        None | Some(ProtoKind::NullValue(_)) => Value::Null,
        Some(ProtoKind::NumberValue(n)) => json!(n),
        Some(ProtoKind::StringValue(s)) => Value::String(s.clone()),
        Some(ProtoKind::BoolValue(b)) => Value::Bool(*b),
        Some(ProtoKind::StructValue(s)) => struct_to_json(s),
        Some(ProtoKind::ListValue(l)) => Value::Array(l.values.iter().map(value_to_json).collect()),
    }
}

pub fn json_to_struct(value: &Value) -> prost_types::Struct {
    let Value::Object(map) = value else {
        return prost_types::Struct::default();
    };
    prost_types::Struct {
        fields: map
            .iter()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect(),
    }
}

fn json_to_value(value: &Value) -> prost_types::Value {
    let kind = match value {
        Value::Null => ProtoKind::NullValue(0),
        Value::Bool(b) => ProtoKind::BoolValue(*b),
        Value::Number(n) => ProtoKind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => ProtoKind::StringValue(s.clone()),
        Value::Array(items) => ProtoKind::ListValue(prost_types::ListValue {
            values: items.iter().map(json_to_value).collect(),
        }),
        Value::Object(_) => ProtoKind::StructValue(json_to_struct(value)),
    };
    prost_types::Value { kind: Some(kind) }
}

/// Shared between the gRPC services and the test.
struct State {
    run: Run,
    schemas: Vec<Schema>,
    preview: bool,
    project: String,
    stack: String,
}

#[derive(Clone)]
struct Monitor(Arc<Mutex<State>>);

type GrpcResult<T> = std::result::Result<Response<T>, Status>;

impl Monitor {
    fn record(&self, kind: &str, body: Value) {
        self.0
            .lock()
            .unwrap()
            .run
            .requests
            .push(json!({ "call": kind, "request": body }));
    }
}

#[tonic::async_trait]
impl ResourceMonitor for Monitor {
    async fn supports_feature(
        &self,
        r: Request<pulumirpc::SupportsFeatureRequest>,
    ) -> GrpcResult<pulumirpc::SupportsFeatureResponse> {
        let id = r.into_inner().id;
        self.record("SupportsFeature", json!({ "id": id }));
        // What the engine of Pulumi v3 answers for the features a program may ask about.
        let has_support = matches!(
            id.as_str(),
            "secrets" | "resourceReferences" | "outputValues" | "deletedWith" | "aliasSpecs"
        );
        Ok(Response::new(pulumirpc::SupportsFeatureResponse {
            has_support,
        }))
    }

    async fn invoke(
        &self,
        r: Request<pulumirpc::ResourceInvokeRequest>,
    ) -> GrpcResult<pulumirpc::InvokeResponse> {
        let req = r.into_inner();
        let args = req.args.as_ref().map(struct_to_json).unwrap_or(Value::Null);
        self.record(
            "Invoke",
            json!({ "tok": req.tok, "args": args, "version": req.version }),
        );
        Err(Status::unimplemented(format!(
            "the stand-in engine does not implement invoke {}",
            req.tok
        )))
    }

    async fn call(
        &self,
        _r: Request<pulumirpc::ResourceCallRequest>,
    ) -> GrpcResult<pulumirpc::CallResponse> {
        Err(Status::unimplemented("call"))
    }

    async fn read_resource(
        &self,
        _r: Request<pulumirpc::ReadResourceRequest>,
    ) -> GrpcResult<pulumirpc::ReadResourceResponse> {
        Err(Status::unimplemented("read_resource"))
    }

    async fn register_resource(
        &self,
        r: Request<pulumirpc::RegisterResourceRequest>,
    ) -> GrpcResult<pulumirpc::RegisterResourceResponse> {
        let req = r.into_inner();
        let inputs = req
            .object
            .as_ref()
            .map(struct_to_json)
            .unwrap_or_else(|| json!({}));
        self.record(
            "RegisterResource",
            json!({
                "type": req.r#type, "name": req.name, "custom": req.custom, "object": inputs,
                "version": req.version, "provider": req.provider, "parent": req.parent,
                "acceptSecrets": req.accept_secrets,
            }),
        );
        let mut state = self.0.lock().unwrap();
        let urn = if req.r#type == "pulumi:pulumi:Stack" {
            format!(
                "urn:pulumi:{}::{}::pulumi:pulumi:Stack::{}",
                state.stack, state.project, req.name
            )
        } else {
            format!(
                "urn:pulumi:{}::{}::pulumi:pulumi:Stack${}::{}",
                state.stack, state.project, req.r#type, req.name
            )
        };
        let (id, outputs) = if req.custom {
            let schema = state
                .schemas
                .iter()
                .find(|s| req.r#type.starts_with(&format!("{}:", s.name)));
            match schema {
                None => {
                    let e = format!(
                        "{} {}: no vendored schema has this package",
                        req.r#type, req.name
                    );
                    state.run.schema_errors.push(e);
                    (String::new(), json!({}))
                }
                Some(schema) => {
                    let Validation { errors } = schema.validate_registration(
                        &req.r#type,
                        &req.version,
                        &inputs,
                        state.preview,
                    );
                    let errors: Vec<String> = errors
                        .into_iter()
                        .map(|e| format!("{} {}: {e}", req.r#type, req.name))
                        .collect();
                    let preview = state.preview;
                    let answer = provide(schema, &req.r#type, &req.name, &inputs, preview);
                    state.run.schema_errors.extend(errors);
                    answer
                }
            }
        } else {
            (String::new(), json!({}))
        };
        state.run.registrations.push(Registration {
            type_: req.r#type.clone(),
            name: req.name.clone(),
            custom: req.custom,
            version: req.version.clone(),
            provider: req.provider.clone(),
            inputs,
            outputs: outputs.clone(),
            urn: urn.clone(),
            id: id.clone(),
        });
        Ok(Response::new(pulumirpc::RegisterResourceResponse {
            urn,
            id,
            object: Some(json_to_struct(&outputs)),
            ..Default::default()
        }))
    }

    async fn register_resource_outputs(
        &self,
        r: Request<pulumirpc::RegisterResourceOutputsRequest>,
    ) -> GrpcResult<()> {
        let req = r.into_inner();
        let outputs = req
            .outputs
            .as_ref()
            .map(struct_to_json)
            .unwrap_or_else(|| json!({}));
        self.record(
            "RegisterResourceOutputs",
            json!({ "urn": req.urn, "outputs": outputs }),
        );
        let mut state = self.0.lock().unwrap();
        if req
            .urn
            .ends_with("pulumi:pulumi:Stack::".to_owned().as_str())
            || req.urn.contains("::pulumi:pulumi:Stack::")
        {
            state.run.stack_outputs = Some(outputs);
        }
        Ok(Response::new(()))
    }

    async fn register_stack_transform(&self, _r: Request<pulumirpc::Callback>) -> GrpcResult<()> {
        Err(Status::unimplemented("register_stack_transform"))
    }

    async fn register_stack_invoke_transform(
        &self,
        _r: Request<pulumirpc::Callback>,
    ) -> GrpcResult<()> {
        Err(Status::unimplemented("register_stack_invoke_transform"))
    }

    async fn register_resource_hook(
        &self,
        _r: Request<pulumirpc::RegisterResourceHookRequest>,
    ) -> GrpcResult<()> {
        Err(Status::unimplemented("register_resource_hook"))
    }

    async fn register_error_hook(
        &self,
        _r: Request<pulumirpc::RegisterErrorHookRequest>,
    ) -> GrpcResult<()> {
        Err(Status::unimplemented("register_error_hook"))
    }

    async fn register_package(
        &self,
        _r: Request<pulumirpc::RegisterPackageRequest>,
    ) -> GrpcResult<pulumirpc::RegisterPackageResponse> {
        Err(Status::unimplemented("register_package"))
    }

    async fn signal_and_wait_for_shutdown(&self, _r: Request<()>) -> GrpcResult<()> {
        self.record("SignalAndWaitForShutdown", json!({}));
        Ok(Response::new(()))
    }
}

#[derive(Clone)]
struct EngineService(Monitor);

#[tonic::async_trait]
impl Engine for EngineService {
    async fn log(&self, r: Request<pulumirpc::LogRequest>) -> GrpcResult<()> {
        let req = r.into_inner();
        self.0.record(
            "Log",
            json!({ "severity": req.severity, "message": req.message, "urn": req.urn }),
        );
        Ok(Response::new(()))
    }

    async fn get_root_resource(
        &self,
        _r: Request<pulumirpc::GetRootResourceRequest>,
    ) -> GrpcResult<pulumirpc::GetRootResourceResponse> {
        Ok(Response::new(pulumirpc::GetRootResourceResponse {
            urn: String::new(),
        }))
    }

    async fn set_root_resource(
        &self,
        _r: Request<pulumirpc::SetRootResourceRequest>,
    ) -> GrpcResult<pulumirpc::SetRootResourceResponse> {
        Ok(Response::new(pulumirpc::SetRootResourceResponse {}))
    }

    async fn start_debugging(
        &self,
        _r: Request<pulumirpc::StartDebuggingRequest>,
    ) -> GrpcResult<()> {
        Err(Status::unimplemented("start_debugging"))
    }

    async fn require_pulumi_version(
        &self,
        _r: Request<pulumirpc::RequirePulumiVersionRequest>,
    ) -> GrpcResult<pulumirpc::RequirePulumiVersionResponse> {
        Ok(Response::new(pulumirpc::RequirePulumiVersionResponse {}))
    }
}

/// The provider's answer to a registration: `(id, outputs)`. Outputs are the inputs plus what
/// AWS computes; during preview computed values are left out (unknown), as providers do.
fn provide(
    schema: &Schema,
    type_: &str,
    name: &str,
    inputs: &Value,
    preview: bool,
) -> (String, Value) {
    let mut out: Map<String, Value> = inputs.as_object().cloned().unwrap_or_default();
    // Unset optional inputs come as nulls; the provider fills in its defaults/computed values.
    let given = |key: &str| {
        out.get(key)
            .map(reveal)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let physical =
        given("name").unwrap_or_else(|| format!("{name}-{:07x}", fxhash(name) & 0xfff_ffff));
    let api_id = format!("{:010x}", fxhash(name) & 0xff_ffff_ffff);
    let computed: Vec<(&str, Value)> = match type_ {
        "aws:ssm/parameter:Parameter" => vec![
            ("name", json!(physical)),
            (
                "arn",
                json!(format!(
                    "arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{}",
                    physical.trim_start_matches('/')
                )),
            ),
            ("version", json!(1)),
            ("tier", json!("Standard")),
        ],
        "aws:iam/role:Role" => vec![
            ("name", json!(physical)),
            (
                "arn",
                json!(format!("arn:aws:iam::{ACCOUNT}:role/{physical}")),
            ),
            ("uniqueId", json!("AROAEXAMPLE1234567890")),
            ("createDate", json!("2026-11-28T00:00:00Z")),
        ],
        "aws:cloudwatch/logGroup:LogGroup" => vec![
            ("name", json!(physical)),
            (
                "arn",
                json!(format!(
                    "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{physical}"
                )),
            ),
        ],
        "aws:lambda/function:Function" => {
            let function_name = given("name").unwrap_or(physical.clone());
            let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}");
            vec![
                ("name", json!(function_name)),
                (
                    "invokeArn",
                    json!(format!(
                        "arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
                    )),
                ),
                ("qualifiedArn", json!(format!("{arn}:$LATEST"))),
                ("arn", json!(arn)),
                ("version", json!("$LATEST")),
            ]
        }
        "aws:dynamodb/table:Table" => vec![
            ("name", json!(physical)),
            (
                "arn",
                json!(format!(
                    "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{physical}"
                )),
            ),
            ("readCapacity", json!(0)),
            ("writeCapacity", json!(0)),
        ],
        "aws:apigatewayv2/api:Api" => vec![
            (
                "apiEndpoint",
                json!(format!(
                    "https://{api_id}.execute-api.{REGION}.amazonaws.com"
                )),
            ),
            (
                "executionArn",
                json!(format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}")),
            ),
            (
                "arn",
                json!(format!("arn:aws:apigateway:{REGION}::/apis/{api_id}")),
            ),
        ],
        "aws:apigatewayv2/stage:Stage" => {
            let api = given("apiId").unwrap_or_default();
            let stage = given("name").unwrap_or_default();
            let path = if stage == "$default" {
                String::new()
            } else {
                stage.clone()
            };
            vec![
                (
                    "invokeUrl",
                    json!(format!(
                        "https://{api}.execute-api.{REGION}.amazonaws.com/{path}"
                    )),
                ),
                (
                    "executionArn",
                    json!(format!(
                        "arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/{stage}"
                    )),
                ),
                (
                    "arn",
                    json!(format!(
                        "arn:aws:apigateway:{REGION}::/apis/{api}/stages/{stage}"
                    )),
                ),
            ]
        }
        "pulumiservice:index:Webhook" => {
            vec![("name", json!(format!("{:08x}", fxhash(name) & 0xffff_ffff)))]
        }
        "random:index/randomPassword:RandomPassword" => {
            let length = out.get("length").and_then(Value::as_f64).unwrap_or(16.0) as usize;
            let secret: String = (0..length)
                .map(|i| char::from(b'a' + ((fxhash(&format!("{name}{i}")) % 26) as u8)))
                .collect();
            vec![
                ("result", json!({ SIG: SECRET_SIG, "value": secret })),
                (
                    "bcryptHash",
                    json!({ SIG: SECRET_SIG, "value": "$2a$10$examplehash" }),
                ),
            ]
        }
        _ => vec![],
    };
    let id = match type_ {
        "aws:apigatewayv2/api:Api" => api_id.clone(),
        "aws:lambda/permission:Permission" => {
            given("statementId").unwrap_or_else(|| format!("{name}-statement"))
        }
        "aws:iam/role:Role"
        | "aws:cloudwatch/logGroup:LogGroup"
        | "aws:ssm/parameter:Parameter"
        | "aws:dynamodb/table:Table"
        | "aws:lambda/function:Function" => physical.clone(),
        // `{org}/{project}/{stack}/{webhook}` for a stack webhook, `{org}/{webhook}` for an
        // organization one, as the provider's import documentation gives them.
        "pulumiservice:index:Webhook" => {
            let webhook = format!("{:08x}", fxhash(name) & 0xffff_ffff);
            [
                given("organizationName"),
                given("projectName"),
                given("stackName"),
                Some(webhook),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/")
        }
        _ => format!("{name}-{:08x}", fxhash(&format!("id{name}")) & 0xffff_ffff),
    };
    if preview {
        // Known inputs flow through; computed outputs stay unknown (absent).
        for (key, _) in &computed {
            if out.get(*key).is_none_or(Value::is_null) {
                out.remove(*key);
            }
        }
        return (String::new(), Value::Object(out));
    }
    for (key, value) in computed {
        if out.get(key).is_none_or(Value::is_null) {
            out.insert(key.to_owned(), value);
        }
    }
    if out.contains_key("tags") || schema.has_output(type_, "tagsAll") {
        let tags = out
            .get("tags")
            .cloned()
            .filter(|t| !t.is_null())
            .unwrap_or_else(|| json!({}));
        out.insert("tagsAll".into(), tags);
    }
    let mut outputs = Value::Object(out);
    schema.complete_outputs(type_, &mut outputs);
    (id, outputs)
}

/// A small stable hash for made-up identifiers.
fn fxhash(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// The vendored provider schemas of the `infra` crate.
pub fn vendored_schemas() -> Vec<Schema> {
    let providers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/providers");
    ["aws", "random", "pulumiservice"]
        .iter()
        .map(|name| Schema::load(&providers.join(name).join("schema.json")))
        .collect()
}

/// Runs `program` against a fresh engine and returns what it did.
pub async fn run(program: &Program) -> Run {
    let state = Arc::new(Mutex::new(State {
        run: Run::default(),
        schemas: vendored_schemas(),
        preview: program.preview,
        project: program.project.clone(),
        stack: program.stack.clone(),
    }));
    let monitor = Monitor(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ResourceMonitorServer::new(monitor.clone()))
            .add_service(EngineServer::new(EngineService(monitor)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let config: BTreeMap<String, String> = program
        .config
        .iter()
        .map(|(k, v)| (format!("{}:{k}", program.project), v.clone()))
        .collect();
    let secret_keys: Vec<String> = program
        .secret_keys
        .iter()
        .map(|k| format!("{}:{k}", program.project))
        .collect();
    let started = std::time::Instant::now();
    let output = tokio::process::Command::new(&program.binary)
        .current_dir(program.root_directory.join("infra"))
        .env("PULUMI_MONITOR", addr.to_string())
        .env("PULUMI_ENGINE", addr.to_string())
        .env("PULUMI_PROJECT", &program.project)
        .env("PULUMI_STACK", &program.stack)
        .env("PULUMI_ORGANIZATION", &program.organization)
        .env("PULUMI_ROOT_DIRECTORY", &program.root_directory)
        .env("PULUMI_PWD", program.root_directory.join("infra"))
        .env(
            "PULUMI_DRY_RUN",
            if program.preview { "true" } else { "false" },
        )
        .env("PULUMI_PARALLEL", "48")
        .env("PULUMI_QUERY_MODE", "false")
        .env("PULUMI_CONFIG", serde_json::to_string(&config).unwrap())
        .env(
            "PULUMI_CONFIG_SECRET_KEYS",
            serde_json::to_string(&secret_keys).unwrap(),
        )
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the infra program starts");
    let elapsed = started.elapsed();
    server.abort();
    let mut run = state.lock().unwrap().run.clone();
    run.success = output.status.success();
    run.elapsed = elapsed;
    run.stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    run.stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    run
}
