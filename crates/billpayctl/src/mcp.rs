//! `billpayctl mcp`: the platform as MCP tools, over stdio or streamable HTTP (rmcp).
//!
//! Every tool calls the code behind the matching `billpayctl` subcommand; this module only adds
//! the MCP contract (schemas, annotations, structured results) and the safety rules:
//! - read-only unless started with `--allow-write`: write tools are then not even listed;
//! - every path a tool touches is confined to the workspace, links out of it included;
//! - anything that changes AWS or a cluster first returns a plan and a confirmation token bound
//!   to that plan's content, and runs only when called again with the token before it expires;
//! - every write and apply is appended to `.billpay/mcp-audit.jsonl`, with secrets redacted;
//! - failures are tool errors (`isError`) that say what to do, never protocol errors.

mod tools;

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// How long a confirmation token stays valid.
const TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// A tool failure, shown to the caller as `isError` with this message.
#[derive(Debug)]
pub struct ToolError(pub String);

impl<E: std::fmt::Display> From<E> for ToolError {
    fn from(e: E) -> Self {
        ToolError(e.to_string())
    }
}

pub type ToolResult = Result<(Value, String), ToolError>;

/// The server's settings.
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

struct Inner {
    workspace: PathBuf,
    allow_write: bool,
    key: [u8; 32],
    audit: Mutex<()>,
}

impl McpServer {
    pub fn new(workspace: &Path, allow_write: bool) -> anyhow::Result<McpServer> {
        let workspace = workspace
            .canonicalize()
            .map_err(|e| anyhow::anyhow!("--workspace {}: {e}", workspace.display()))?;
        anyhow::ensure!(
            workspace.is_dir(),
            "--workspace {} is not a folder",
            workspace.display()
        );
        Ok(McpServer {
            inner: Arc::new(Inner {
                workspace,
                allow_write,
                key: rand::random(),
                audit: Mutex::new(()),
            }),
        })
    }

    pub fn workspace(&self) -> &Path {
        &self.inner.workspace
    }

    pub fn allow_write(&self) -> bool {
        self.inner.allow_write
    }

    /// The tools this server lists.
    pub fn tools(&self) -> Vec<Tool> {
        tools::definitions(self.allow_write())
            .into_iter()
            .filter(|d| self.allow_write() || !d.write)
            .map(|d| {
                let mut annotations = ToolAnnotations::new();
                annotations.title = Some(d.title.to_owned());
                annotations.read_only_hint = Some(d.read_only);
                annotations.destructive_hint = Some(d.destructive);
                annotations.idempotent_hint = Some(d.idempotent);
                annotations.open_world_hint = Some(d.open_world);
                let obj = |v: Value| Arc::new(v.as_object().cloned().unwrap_or_default());
                Tool::new(d.name, d.description, obj(d.input))
                    .with_title(d.title)
                    .with_raw_output_schema(obj(d.output))
                    .with_annotations(annotations)
            })
            .collect()
    }

    /// Resolves `rel` (relative to the workspace, or absolute inside it) and refuses anything
    /// that leaves the workspace, through `..` or through a link.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, ToolError> {
        let ws = &self.inner.workspace;
        let given = Path::new(if rel.is_empty() { "." } else { rel });
        let joined = if given.is_absolute() {
            given.to_owned()
        } else {
            ws.join(given)
        };
        let mut normal = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::ParentDir => {
                    normal.pop();
                }
                Component::CurDir => {}
                other => normal.push(other.as_os_str()),
            }
        }
        let outside = || {
            ToolError(format!(
                "`{rel}` is outside the workspace {}: tools only read and write inside it",
                ws.display()
            ))
        };
        if !normal.starts_with(ws) {
            return Err(outside());
        }
        self.check_inside(&normal).map_err(|_| outside())?;
        Ok(normal)
    }

    /// Whether `path`, or its nearest existing ancestor, really lies in the workspace once links
    /// are followed.
    pub fn check_inside(&self, path: &Path) -> Result<(), ToolError> {
        let mut probe = path.to_owned();
        loop {
            if std::fs::symlink_metadata(&probe).is_ok() {
                let real = probe
                    .canonicalize()
                    .map_err(|e| ToolError(format!("{}: {e}", probe.display())))?;
                return if real.starts_with(&self.inner.workspace) {
                    Ok(())
                } else {
                    Err(ToolError(format!(
                        "{} leads outside the workspace (to {})",
                        path.display(),
                        real.display()
                    )))
                };
            }
            if !probe.pop() {
                return Err(ToolError(format!("{} is not in the workspace", path.display())));
            }
        }
    }

    /// A token for `tool` bound to `plan`, valid for [`TOKEN_TTL`].
    pub fn token(&self, tool: &str, plan: &Value) -> String {
        let expires = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            + TOKEN_TTL.as_secs();
        format!("{expires}.{}", self.mac(tool, plan, expires))
    }

    fn mac(&self, tool: &str, plan: &Value, expires: u64) -> String {
        let digest = Sha256::digest(plan.to_string().as_bytes());
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.inner.key).expect("HMAC takes any key length");
        mac.update(tool.as_bytes());
        mac.update(&[0]);
        mac.update(&digest);
        mac.update(&expires.to_be_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Checks a token against the plan as it is now.
    pub fn verify(&self, tool: &str, plan: &Value, token: &str) -> Result<(), ToolError> {
        let refuse = |why: &str| {
            ToolError(format!(
                "{why}: call {tool} without `confirmationToken` to get the current plan and a fresh token, review it, then call again with that token"
            ))
        };
        let (expires, mac) = token
            .split_once('.')
            .ok_or_else(|| refuse("the confirmation token is malformed"))?;
        let expires: u64 = expires
            .parse()
            .map_err(|_| refuse("the confirmation token is malformed"))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let expected = self.mac(tool, plan, expires);
        if !same_secret(&expected, mac) {
            return Err(refuse(
                "the confirmation token does not match this plan (the plan changed, or the token is for another call)",
            ));
        }
        if now > expires {
            return Err(refuse("the confirmation token has expired"));
        }
        Ok(())
    }

    /// Appends a record of a write or apply to the workspace's audit log.
    pub fn audit(&self, tool: &str, arguments: &Value, outcome: &str, summary: &str) {
        let _guard = self.inner.audit.lock();
        let dir = self.inner.workspace.join(".billpay");
        let record = json!({
            "at": time_now(),
            "tool": tool,
            "arguments": redact(arguments),
            "outcome": outcome,
            "summary": summary,
        });
        let written = std::fs::create_dir_all(&dir).and_then(|()| {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("mcp-audit.jsonl"))?;
            writeln!(f, "{record}")
        });
        if let Err(e) = written {
            tracing::error!(error = %e, "cannot write the MCP audit log");
        }
    }
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn time_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    secs.to_string()
}

/// The arguments with the values of secret-looking keys replaced.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let lower = k.to_lowercase();
                    let secret = ["token", "secret", "password", "credential", "apikey", "api_key"]
                        .iter()
                        .any(|s| lower.contains(s));
                    (
                        k.clone(),
                        if secret {
                            Value::String("[redacted]".into())
                        } else {
                            redact(v)
                        },
                    )
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let mode = if self.allow_write() {
            "Writes are allowed: write tools are listed; applying to AWS or a cluster still needs the confirmation token from the matching plan."
        } else {
            "Read-only: only tools that read are listed. Restart with --allow-write to write files or apply changes."
        };
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("billpayctl", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "BillPay's platform: platform.toml renders the AWS infrastructure (Terragrunt/OpenTofu), Kubernetes manifests, GitHub workflows, the Backstage catalog and TechDocs. Start with describe_platform. Workspace: {}. {mode}",
                self.workspace().display()
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools().into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        // Progress goes out as notifications, in order, while the tool runs, when the client
        // asked for it with a progress token.
        let progress_token = context.meta.get_progress_token();
        let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel::<(f64, f64, String)>();
        let peer = context.peer.clone();
        let forwarder = tokio::spawn(async move {
            while let Some((done, total, message)) = progress_rx.recv().await {
                if let Some(token) = &progress_token {
                    let mut p = ProgressNotificationParam::new(token.clone(), done);
                    p.total = Some(total);
                    p.message = Some(message);
                    if let Err(e) = peer.notify_progress(p).await {
                        tracing::warn!(error = %e, "cannot send a progress notification");
                    }
                }
            }
        });
        let name = request.name.to_string();
        let args = Value::Object(request.arguments.unwrap_or_default());
        let known = tools::definitions(self.allow_write());
        let result = match known.iter().find(|d| d.name == name) {
            None => Err(ToolError(format!(
                "no tool `{name}`; tools/list names the ones this server offers"
            ))),
            Some(d) if d.write && !self.allow_write() => Err(ToolError(format!(
                "`{name}` writes, and this server is read-only: restart it with --allow-write"
            ))),
            Some(_) => {
                let server = self.clone();
                let n = name.clone();
                let a = args.clone();
                // Tools do blocking I/O (files, child processes, their own runtime for AWS):
                // they run on a blocking thread so the protocol loop stays responsive.
                let tx = progress_tx.clone();
                let report = move |done: f64, total: f64, message: String| {
                    let _ = tx.send((done, total, message));
                };
                tokio::task::spawn_blocking(move || tools::call(&server, &n, &a, &report))
                    .await
                    .unwrap_or_else(|e| Err(ToolError(format!("the tool failed unexpectedly: {e}"))))
            }
        };
        drop(progress_tx);
        let _ = forwarder.await;
        Ok(CallToolResponse::from(match result {
            Ok((structured, text)) => {
                let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
                r.structured_content = Some(structured);
                r
            }
            Err(ToolError(message)) => CallToolResult::error(vec![ContentBlock::text(message)]),
        }))
    }
}

/// Serves over stdio until the client closes it.
pub async fn serve_stdio(server: McpServer) -> anyhow::Result<()> {
    use rmcp::ServiceExt;
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}

/// Serves streamable HTTP on `addr` at `/mcp`, for requests that carry `token` and come from no
/// browser origin or an allowed one.
pub async fn serve_http(
    server: McpServer,
    addr: std::net::SocketAddr,
    token: String,
    allowed_origins: Vec<String>,
) -> anyhow::Result<()> {
    use axum::extract::Request;
    use axum::http::{StatusCode, header};
    use axum::middleware::Next;
    use axum::response::{IntoResponse, Response};
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

    let mut config = StreamableHttpServerConfig::default();
    config.allowed_origins = allowed_origins;
    config = config.enforce_origin_validation();
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let expected = Arc::new(format!("Bearer {token}"));
    let auth = move |req: Request, next: Next| {
        let expected = expected.clone();
        async move {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if same_secret(given, &expected) {
                next.run(req).await
            } else {
                let body = json!({"error": "unauthorized", "message": "send Authorization: Bearer <the token the server was started with>"});
                let mut r: Response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
                r
            }
        }
    };
    let app = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(auth));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!(
        "billpayctl mcp: streamable HTTP on http://{}/mcp",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
