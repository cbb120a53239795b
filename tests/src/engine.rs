//! A stand-in for the Pulumi engine and CLI, so the `infra` program can be run here as
//! `pulumi preview` and `pulumi up` run it, without the Pulumi CLI or AWS.
//!
//! It validates the stack's config against `Pulumi.yaml` as the CLI does ([`crate::cli_config`]),
//! serves the real gRPC services (`pulumirpc.ResourceMonitor` and `pulumirpc.Engine`, from the
//! protos Pulumi Gestalt is built with) on loopback, starts the program with the language host's
//! environment, answers each registration as the engine and the providers would
//! ([`crate::providers`]), keeps the stack's state between runs, and records every request for
//! the tests. Every custom resource is also checked against the vendored provider schema and the
//! provider's input checks the program depends on; what they refuse is in [`Run::schema_errors`].
//!
//! # Fidelity
//!
//! One row per behaviour the tests rely on; sources are pulumi/pulumi (v3.259), Pulumi Gestalt
//! (tag v0.0.12) and pulumi-terraform-bridge. "Assumed" marks what no source decides.
//!
//! | behaviour | the stand-in | source |
//! |---|---|---|
//! | config validation | before the program runs: missing keys (all, in one line), then per typed key `secret` and `type`; the program is not started on failure | `pkg/workspace/config.go` `mergeConfig`, `validateStackConfigValues`; `pkg/cmd/pulumi/operations/up.go` ("validating stack config") |
//! | config defaults | unset declared keys get their `default` (scalars as text, lists and maps as JSON) | `pkg/workspace/config.go` `createConfigValue` |
//! | config and secret keys in the environment | `PULUMI_CONFIG` a JSON object `ns:key` → text, `PULUMI_CONFIG_SECRET_KEYS` a JSON array | `pkg/resource/deploy/source_eval.go` `Iterate`; Gestalt `pulumi-language-rust/main.go` `constructConfig`, `constructEnv` |
//! | how the program is started | the binary, or `cargo run`, in `<root>/<main>` with the host's `PULUMI_*` variables and `RUST_BACKTRACE=full`; stdout and stderr kept | Gestalt `pulumi-language-rust/main.go` `Run` |
//! | unknowns in a preview | a new resource's outputs are its inputs plus its computed outputs as the unknown sentinel; its ID is "" | `pkg/resource/deploy/step.go` `CreateStep.Apply`; bridge `pkg/tfbridge/provider.go` `Create` (`ProposedState`), `pkg/tfshim/sdk-v2/provider2.go` `ID` |
//! | which outputs are computed | the ones [`crate::providers`] assigns and every schema output that is not an input | bridge: Terraform's planned state marks computed attributes unknown; which optional inputs are also computed is not in the schema (assumed: none) |
//! | unknowns in the answer | without `supportsPartialValues` (Gestalt never sets it) every top-level output containing an unknown is left out; with it, kept as the sentinel | `pkg/resource/deploy/source_eval.go` `RegisterResource` ("stripping unknowns"), `sdk/go/common/resource/plugin/rpc.go` `UnknownStringValue` |
//! | unknown inputs | only an input equal to the sentinel is unknown; in an update one is reported as an error (the engine drops it silently and the provider sees the property unset: the stand-in is stricter) | `rpc.go` `unmarshalUnknownPropertyValue`, `MarshalPropertyValue` |
//! | unchanged resources | inputs equal to the state's (archives by hash): the old ID and outputs, in a preview too | `pkg/resource/deploy/step.go` `SameStep.Apply` |
//! | changed resources | the old ID; in an update fresh outputs, in a preview the old outputs under the new inputs | `step.go` `UpdateStep.Apply` (ID kept); assumed: a preview recomputes no other output |
//! | secrets in | a top-level `{sig: secret, value}` wrapper; nested secrets arrive in plain text | Gestalt `crates/grpc/src/real_pulumi_connector.rs` `create_protobuf_struct` |
//! | secrets out | returned wrapped when the request has `acceptSecrets` (Gestalt sets it) | `source_eval.go` `RegisterResource` (`KeepSecrets: req.GetAcceptSecrets()`) |
//! | archives | a file archive's relative `path` is read from the program's directory; a `.zip` is hashed as its raw bytes (SHA-256), stored with the path as given; a missing file fails the registration | `pkg/engine/project.go` `getPwdMain`; `sdk/go/common/resource/archive/archive.go` `EnsureHashWithWD`, `readPath`; `rpc.go` ("failed to compute archive hash") |
//! | archive equality | by hash alone | `archive.go` `Archive.Equals` |
//! | provider checks | `aws:lambda/permission:Permission` `sourceArn` must parse as an ARN | terraform-provider-aws `internal/service/lambda/permission.go` (`verify.ValidARN`) |
//! | missing outputs | an update answers every declared output (null when unset); Gestalt reads a missing one as nothing in a preview, and panics outside one | bridge `MakeTerraformOutputs` (every attribute); Gestalt `crates/domain/src/lib.rs` `get_field_value`, `crates/rust/src/native.rs` |
//! | URNs | `urn:pulumi:<stack>::<project>::<type>::<name>`: Gestalt sends no parent, the engine makes the stack the parent and leaves the stack's type out | `pkg/resource/deploy/step_generator.go` `checkParent`, `deployment.go` `generateURN` |
//! | stack outputs | one `RegisterResourceOutputs` on the root `pulumi:pulumi:Stack` | Gestalt `real_pulumi_connector.rs` `register_outputs` |
//! | dependencies | none are sent, so none are recorded | Gestalt `crates/domain/src/connector.rs` (no field for them) |
//! | `Log` | recorded with severity and `ephemeral`; the CLI shows INFO and above, and lists the non-ephemeral ones under "Diagnostics" | `pkg/host/host_server.go` `Log`; `pkg/backend/display/progress.go` |
//! | `SupportsFeature` | the features the engine answers true for | `source_eval.go` `supportsFeatureID` |
//! | computed values (ARN, ID and URL formats) | AWS's documented shapes, made-up account and names | assumed |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost_types::value::Kind as ProtoKind;
use pulumi_gestalt_proto::pulumi::pulumirpc;
use pulumi_gestalt_proto::pulumi::pulumirpc::engine_server::{Engine, EngineServer};
use pulumi_gestalt_proto::pulumi::pulumirpc::resource_monitor_server::{
    ResourceMonitor, ResourceMonitorServer,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use crate::cli_config::{self, Project, StackValue};
use crate::providers;
use crate::schema::{Schema, Validation};

/// Pulumi's marker key for special values (secrets, archives, assets) in property maps.
pub const SIG: &str = "4dabf18193072939515e22adb298388d";
pub const SECRET_SIG: &str = "1b47061264138c4ac30d75fd1eb44270";
pub const ARCHIVE_SIG: &str = "0def7320c3a5731c473e5ecbe6d01bc7";
/// The value Pulumi sends for a string that is not known yet (during preview).
pub const UNKNOWN: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/// How the language host starts the program.
#[derive(Debug, Clone)]
pub enum Launch {
    /// A built binary (what the host's `binary` option runs).
    Binary(PathBuf),
    /// `cargo run` in the program's directory: the host's default.
    CargoRun,
}

/// A `pulumi preview` or `pulumi up` of a stack.
#[derive(Debug, Clone)]
pub struct Program {
    pub launch: Launch,
    pub stack: String,
    pub organization: String,
    /// The directory holding `Pulumi.yaml`.
    pub root_directory: PathBuf,
    /// The stack's config, keys without the project's namespace (or `ns:key`).
    pub config: BTreeMap<String, StackValue>,
    pub preview: bool,
    /// Variables the program gets on top of this process's environment.
    pub env: Vec<(String, String)>,
}

/// One `RegisterResource` call, decoded to JSON (secrets keep their wrapper objects; archives
/// carry the hash the engine computed, as its state stores them).
#[derive(Debug, Clone)]
pub struct Registration {
    pub type_: String,
    pub name: String,
    pub custom: bool,
    pub version: String,
    pub provider: String,
    pub inputs: Value,
    /// What the provider answered (unknowns included).
    pub outputs: Value,
    /// What the program was sent: `outputs` without what the program may not see.
    pub answered: Value,
    pub urn: String,
    pub id: String,
    pub dependencies: Vec<String>,
}

/// One `Log` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Log {
    pub severity: String,
    pub message: String,
    pub ephemeral: bool,
    /// Since the program started.
    pub at: Duration,
}

/// What happened during one run.
#[derive(Debug, Default, Clone)]
pub struct Run {
    pub success: bool,
    /// The CLI's refusal (config validation), in which case the program never ran.
    pub cli_error: Option<String>,
    pub stdout: String,
    pub stderr: String,
    pub registrations: Vec<Registration>,
    /// The stack's exports, from `RegisterResourceOutputs` on the stack resource.
    pub stack_outputs: Option<Value>,
    /// Every request received, as JSON, in order: what a leak check scans.
    pub requests: Vec<Value>,
    pub logs: Vec<Log>,
    pub schema_errors: Vec<String>,
    /// When the first custom resource was registered, since the program started.
    pub first_registration: Option<Duration>,
    /// The program's wall time, process start to exit.
    pub elapsed: Duration,
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

    /// The errors the user is shown, in order: the CLI's refusal, or the program's error
    /// diagnostics as the CLI prints them.
    pub fn errors(&self) -> Vec<String> {
        if let Some(cli) = &self.cli_error {
            return vec![cli.clone()];
        }
        self.logs
            .iter()
            .filter(|log| log.severity == "ERROR")
            .map(|log| format!("error: {}", log.message))
            .collect()
    }

    /// The messages the CLI keeps under "Diagnostics" (INFO and above, not ephemeral).
    pub fn diagnostics(&self) -> Vec<&str> {
        self.logs
            .iter()
            .filter(|log| !log.ephemeral && log.severity != "DEBUG")
            .map(|log| log.message.as_str())
            .collect()
    }

    /// Paths (`type name /input`) of registered inputs that contain the unknown sentinel without
    /// being it: values computed from an unknown as if it were a string.
    pub fn embedded_unknowns(&self) -> Vec<String> {
        let mut found = Vec::new();
        for r in &self.registrations {
            for path in strings_where(&r.inputs, &|s| s.contains(UNKNOWN) && s != UNKNOWN) {
                found.push(format!("{} {} {path}", r.type_, r.name));
            }
        }
        found
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

/// Paths of the strings in `value` (secrets included) for which `matches` holds.
fn strings_where(value: &Value, matches: &dyn Fn(&str) -> bool) -> Vec<String> {
    fn walk(value: &Value, matches: &dyn Fn(&str) -> bool, path: String, out: &mut Vec<String>) {
        match value {
            Value::String(s) if matches(s) => {
                out.push(if path.is_empty() { "/".into() } else { path })
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, matches, format!("{path}/{i}"), out);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    walk(v, matches, format!("{path}/{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, matches, String::new(), &mut out);
    out
}

/// Whether `value` holds an unknown anywhere (`PropertyValue.ContainsUnknowns`).
fn contains_unknowns(value: &Value) -> bool {
    !strings_where(value, &|s| s == UNKNOWN).is_empty()
}

/// `value` with every archive reduced to its hash: what decides whether inputs changed.
fn by_hash(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.get(SIG).and_then(Value::as_str) == Some(ARCHIVE_SIG) => {
            json!({ SIG: ARCHIVE_SIG, "hash": map.get("hash") })
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), by_hash(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(by_hash).collect()),
        other => other.clone(),
    }
}

/// Adds the engine's `hash` to every file archive in `value`, reading relative paths from `pwd`.
fn hash_archives(value: &mut Value, pwd: &Path, key: &str) -> Result<(), String> {
    match value {
        Value::Object(map) if map.get(SIG).and_then(Value::as_str) == Some(ARCHIVE_SIG) => {
            if map.get("hash").is_none_or(Value::is_null)
                && let Some(path) = map.get("path").and_then(Value::as_str)
            {
                let file = pwd.join(path);
                let bytes = std::fs::read(&file).map_err(|e| {
                    format!(
                        "failed to compute archive hash for {key:?}: open {}: {e}",
                        file.display()
                    )
                })?;
                map.insert("hash".into(), json!(hex::encode(Sha256::digest(&bytes))));
            }
            Ok(())
        }
        Value::Object(map) => map
            .iter_mut()
            .try_for_each(|(k, v)| hash_archives(v, pwd, k)),
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| hash_archives(item, pwd, key)),
        _ => Ok(()),
    }
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

/// A resource in the stack's state.
#[derive(Debug, Clone)]
struct Resource {
    inputs: Value,
    outputs: Value,
    id: String,
}

/// A stack's state: what its last successful `pulumi up` created.
#[derive(Debug, Clone, Default)]
pub struct Stack {
    resources: BTreeMap<String, Resource>,
}

impl Stack {
    /// Runs `program` on this stack; a successful update replaces the state.
    pub async fn run(&mut self, program: &Program) -> Run {
        let (stack, run) = start(self.clone(), program).await.finish().await;
        *self = stack;
        run
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
}

/// Runs `program` on a new, empty stack.
pub async fn run(program: &Program) -> Run {
    Stack::default().run(program).await
}

/// Shared between the gRPC services and the test.
struct State {
    run: Run,
    schemas: Vec<Schema>,
    preview: bool,
    project: String,
    stack: String,
    /// The program's directory: where relative archive paths are read from.
    pwd: PathBuf,
    prior: Stack,
    next: Stack,
    started: Instant,
    exited: bool,
    changes: tokio::sync::watch::Sender<usize>,
}

impl State {
    fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }
}

#[derive(Clone)]
struct Monitor(Arc<Mutex<State>>);

type GrpcResult<T> = std::result::Result<Response<T>, Status>;

impl Monitor {
    fn record(&self, kind: &str, body: Value) {
        let mut state = self.0.lock().unwrap();
        state
            .run
            .requests
            .push(json!({ "call": kind, "request": body }));
        state.changed();
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
        let has_support = matches!(
            id.as_str(),
            "secrets"
                | "resourceReferences"
                | "outputValues"
                | "aliasSpecs"
                | "replacementTrigger"
                | "deletedWith"
                | "replaceWith"
                | "transforms"
                | "invokeTransforms"
                | "parameterization"
                | "resourceHooks"
                | "errorHooks"
                | "sendsOptionsToHooks"
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
        let mut inputs = req
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
                "supportsPartialValues": req.supports_partial_values,
                "dependencies": req.dependencies,
            }),
        );
        let mut state = self.0.lock().unwrap();
        let pwd = state.pwd.clone();
        hash_archives(&mut inputs, &pwd, "").map_err(Status::unknown)?;
        let urn = if req.r#type == "pulumi:pulumi:Stack" {
            format!(
                "urn:pulumi:{}::{}::pulumi:pulumi:Stack::{}",
                state.stack, state.project, req.name
            )
        } else {
            // Parented to the stack (the engine's default), whose type the URN leaves out.
            format!(
                "urn:pulumi:{}::{}::{}::{}",
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
                    let Validation { mut errors } = schema.validate_registration(
                        &req.r#type,
                        &req.version,
                        &inputs,
                        state.preview,
                    );
                    errors.extend(providers::check(&req.r#type, &inputs));
                    let errors: Vec<String> = errors
                        .into_iter()
                        .map(|e| format!("{} {}: {e}", req.r#type, req.name))
                        .collect();
                    let answer = answer(
                        schema,
                        &req.r#type,
                        &req.name,
                        &inputs,
                        state.prior.resources.get(&urn),
                        state.preview,
                    );
                    state.run.schema_errors.extend(errors);
                    answer
                }
            }
        } else {
            (String::new(), json!({}))
        };
        // Gestalt does not set `supportsPartialValues`: outputs holding unknowns are left out.
        let answered = if req.supports_partial_values {
            outputs.clone()
        } else {
            match &outputs {
                Value::Object(map) => Value::Object(
                    map.iter()
                        .filter(|(_, v)| !contains_unknowns(v))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                other => other.clone(),
            }
        };
        if req.custom && !state.preview {
            state.next.resources.insert(
                urn.clone(),
                Resource {
                    inputs: inputs.clone(),
                    outputs: outputs.clone(),
                    id: id.clone(),
                },
            );
        }
        if req.custom && state.run.first_registration.is_none() {
            state.run.first_registration = Some(state.started.elapsed());
        }
        state.run.registrations.push(Registration {
            type_: req.r#type.clone(),
            name: req.name.clone(),
            custom: req.custom,
            version: req.version.clone(),
            provider: req.provider.clone(),
            inputs,
            outputs,
            answered: answered.clone(),
            urn: urn.clone(),
            id: id.clone(),
            dependencies: req.dependencies.clone(),
        });
        state.changed();
        Ok(Response::new(pulumirpc::RegisterResourceResponse {
            urn,
            id,
            object: Some(json_to_struct(&answered)),
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
        if req.urn.contains("::pulumi:pulumi:Stack::") {
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

/// The engine's answer to a custom resource's registration: `(id, outputs)`.
fn answer(
    schema: &Schema,
    type_: &str,
    name: &str,
    inputs: &Value,
    prior: Option<&Resource>,
    preview: bool,
) -> (String, Value) {
    match prior {
        Some(old) if by_hash(&old.inputs) == by_hash(inputs) => {
            (old.id.clone(), old.outputs.clone())
        }
        Some(old) if preview => {
            let mut outputs = old.outputs.clone();
            if let (Value::Object(outputs), Value::Object(inputs)) = (&mut outputs, inputs) {
                outputs.extend(inputs.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            (old.id.clone(), outputs)
        }
        Some(old) => (
            old.id.clone(),
            providers::create(schema, type_, name, inputs).1,
        ),
        None if preview => (String::new(), providers::plan(schema, type_, name, inputs)),
        None => providers::create(schema, type_, name, inputs),
    }
}

#[derive(Clone)]
struct EngineService(Monitor);

#[tonic::async_trait]
impl Engine for EngineService {
    async fn log(&self, r: Request<pulumirpc::LogRequest>) -> GrpcResult<()> {
        let req = r.into_inner();
        let severity = pulumirpc::LogSeverity::try_from(req.severity)
            .map(|s| s.as_str_name().to_owned())
            .unwrap_or_else(|_| req.severity.to_string());
        self.0.record(
            "Log",
            json!({ "severity": severity, "message": req.message, "urn": req.urn,
                    "ephemeral": req.ephemeral }),
        );
        let mut state = self.0.0.lock().unwrap();
        let at = state.started.elapsed();
        state.run.logs.push(Log {
            severity,
            message: req.message,
            ephemeral: req.ephemeral,
            at,
        });
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

/// The vendored provider schemas of the `infra` crate.
pub fn vendored_schemas() -> Vec<Schema> {
    let providers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/providers");
    ["aws", "random", "pulumiservice"]
        .iter()
        .map(|name| Schema::load(&providers.join(name).join("schema.json")))
        .collect()
}

/// A program the engine is running.
pub struct Running {
    state: Arc<Mutex<State>>,
    changes: tokio::sync::watch::Receiver<usize>,
    process: Option<tokio::task::JoinHandle<std::io::Result<std::process::Output>>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Waits until `done` holds for what the program did so far; panics, naming `what`, if the
    /// program ends first.
    pub async fn wait_for(&mut self, what: &str, done: impl Fn(&Run) -> bool) {
        loop {
            {
                let state = self.state.lock().unwrap();
                if done(&state.run) {
                    return;
                }
                assert!(
                    !state.exited,
                    "the program ended before {what}:\n{}",
                    state.run.stderr
                );
            }
            self.changes
                .changed()
                .await
                .expect("the engine state is alive");
        }
    }

    /// What the program did so far.
    pub fn snapshot(&self) -> Run {
        self.state.lock().unwrap().run.clone()
    }

    /// Waits for the program to end; returns the stack's state after the run and what happened.
    pub async fn finish(mut self) -> (Stack, Run) {
        if let Some(process) = self.process.take() {
            let _ = process.await;
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        let state = self.state.lock().unwrap();
        let stack = if state.run.success && !state.preview {
            state.next.clone()
        } else {
            state.prior.clone()
        };
        (stack, state.run.clone())
    }
}

/// Validates the config and starts `program` on `stack`, as `pulumi up` (or `preview`) does.
pub async fn start(stack: Stack, program: &Program) -> Running {
    let project = Project::load(&program.root_directory);
    let pwd = program.root_directory.join(&project.main);
    let (changes, receiver) = tokio::sync::watch::channel(0);
    let state = Arc::new(Mutex::new(State {
        run: Run::default(),
        schemas: vendored_schemas(),
        preview: program.preview,
        project: project.name.clone(),
        stack: program.stack.clone(),
        pwd: pwd.clone(),
        prior: stack,
        next: Stack::default(),
        started: Instant::now(),
        exited: false,
        changes,
    }));
    let mut running = Running {
        state: state.clone(),
        changes: receiver,
        process: None,
        server: None,
    };
    let config = match cli_config::merge(&project, &program.stack, &program.config) {
        Ok(config) => config,
        Err(refusal) => {
            let mut state = state.lock().unwrap();
            state.run.cli_error = Some(refusal);
            state.exited = true;
            state.changed();
            return running;
        }
    };

    let monitor = Monitor(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().unwrap();
    running.server = Some(tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(ResourceMonitorServer::new(monitor.clone()))
            .add_service(EngineServer::new(EngineService(monitor)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await;
    }));

    let mut command = match &program.launch {
        Launch::Binary(binary) => tokio::process::Command::new(binary),
        Launch::CargoRun => {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut command = tokio::process::Command::new(cargo);
            command.arg("run");
            command
        }
    };
    command
        .current_dir(&pwd)
        .envs(program.env.iter().map(|(k, v)| (k, v)))
        .env("PULUMI_MONITOR", addr.to_string())
        .env("PULUMI_ENGINE", addr.to_string())
        .env("PULUMI_PROJECT", &project.name)
        .env("PULUMI_STACK", &program.stack)
        .env("PULUMI_ROOT_DIRECTORY", &program.root_directory)
        .env("PULUMI_PWD", &pwd)
        .env("PULUMI_DRY_RUN", program.preview.to_string())
        .env("PULUMI_QUERY_MODE", "false")
        .env("PULUMI_PARALLEL", "8")
        .env(
            "PULUMI_CONFIG",
            serde_json::to_string(&config.values).unwrap(),
        )
        .env(
            "PULUMI_CONFIG_SECRET_KEYS",
            serde_json::to_string(&config.secret_keys).unwrap(),
        )
        .env("PULUMI_ORGANIZATION", &program.organization)
        .env("RUST_BACKTRACE", "full")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let child_state = state.clone();
    state.lock().unwrap().started = Instant::now();
    running.process = Some(tokio::spawn(async move {
        let output = command.output().await;
        let mut state = child_state.lock().unwrap();
        let elapsed = state.started.elapsed();
        match &output {
            Ok(output) => {
                state.run.success = output.status.success();
                state.run.stdout = String::from_utf8_lossy(&output.stdout).into_owned();
                state.run.stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            }
            Err(e) => state.run.stderr = format!("the program did not start: {e}"),
        }
        state.run.elapsed = elapsed;
        state.exited = true;
        state.changed();
        output
    }));
    running
}
