//! The data channel (RFC 8783): RESTCONF over HTTP/1.1 over TLS with client certificates.
//!
//! The TLS layer (`support::tls`) authenticates the client and derives its cuid (RFC 9132
//! Section 4.4.1); hyper parses HTTP; this module only converts an HTTP request into a
//! [`data::Request`], hands it to the shared [`DataServer`](dots::proto::data::DataServer) with
//! the connection's cuid, and writes the [`data::Response`] back. The RESTCONF logic is the
//! library's.
//!
//! Besides the RESTCONF resources, `GET /.well-known/host-meta` answers the root resource
//! discovery of RFC 8040 Section 3.1 that RFC 8783 Section 3.1 asks DOTS clients to perform.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dots::codec::data::{ErrorTag, ErrorType, RestconfError, RestconfErrors};
use dots::proto::data::{self, Method, PeerIdentity};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, VIA};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::Semaphore;

use crate::state::Shared;
use crate::support::tls::TlsServer;

/// How long a client has to complete the TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client has to send the header section of a request.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once; further clients wait in the listen queue.
pub(crate) const MAX_CONNECTIONS: usize = 1024;
/// How long in-flight requests have to finish at shutdown.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The root resource discovery document (RFC 8040 Section 3.1, RFC 6415 XRD).
const HOST_META: &str = "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n    \
                         <Link rel='restconf' href='{root}'/>\n</XRD>\n";

/// Serves the data channel on `listener` until `shutdown` completes, then lets the requests in
/// flight finish (at most [`SHUTDOWN_GRACE`]).
pub(crate) async fn serve(
    listener: TlsServer,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &slots) => accepted,
        };
        let Some((tcp, peer, slot)) = accepted else {
            continue;
        };
        let handshake = listener.handshake(tcp);
        let watcher = graceful.watcher();
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _slot = slot;
            let (stream, identity) = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await
            {
                Ok(Ok(done)) => done,
                Ok(Err(e)) => {
                    shared.log(&format!("https {peer}: handshake refused: {e}"));
                    return;
                }
                Err(_) => {
                    shared.log(&format!("https {peer}: handshake timed out"));
                    return;
                }
            };
            let cuid: Arc<str> = Arc::from(identity.cuid.as_str());
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                let cuid = Arc::clone(&cuid);
                async move { Ok::<_, Infallible>(respond(&shared, &cuid, request).await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            // A connection error (peer gone, malformed HTTP answered by hyper) ends only this
            // connection.
            let _ = watcher.watch(connection).await;
        });
    }
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// The next TCP connection with a connection slot, or `None` after a transient accept error.
async fn accept(
    listener: &TlsServer,
    slots: &Arc<Semaphore>,
) -> Option<(
    tokio::net::TcpStream,
    SocketAddr,
    tokio::sync::OwnedSemaphorePermit,
)> {
    let slot = Arc::clone(slots).acquire_owned().await.ok()?;
    match listener.accept_tcp().await {
        Ok((tcp, peer)) => Some((tcp, peer, slot)),
        Err(_) => {
            // E.g. out of file descriptors: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// Answers one HTTP request of the client `cuid`.
pub(crate) async fn respond(
    shared: &Shared,
    cuid: &str,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let limit = shared.with_data(|data, _| data.config().max_body_len);
    let answer = match read_body(body, limit).await {
        Ok(body) => answer(shared, cuid, &parts, &body),
        Err(e) => local_error(
            400,
            ErrorType::Transport,
            ErrorTag::MalformedMessage,
            &format!("the request body could not be read: {e}"),
        ),
    };
    into_hyper(answer)
}

/// The body, or its first `limit + 1` bytes when it is longer (the data server answers 413 to
/// that).
async fn read_body(mut body: Incoming, limit: usize) -> Result<Vec<u8>, hyper::Error> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers
        };
        let room = limit.saturating_add(1).saturating_sub(out.len());
        out.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
        if out.len() > limit {
            break;
        }
    }
    Ok(out)
}

fn answer(shared: &Shared, cuid: &str, parts: &hyper::http::request::Parts, body: &[u8]) -> Answer {
    let path = parts.uri.path();
    let method = Method::from_token(parts.method.as_str());
    if path == "/.well-known/host-meta" && matches!(method, Method::Get | Method::Head) {
        let root = shared.with_data(|data, _| data.config().restconf_root.clone());
        return Answer::HostMeta(HOST_META.replace("{root}", &root));
    }
    let headers = match Headers::of(&parts.headers) {
        Ok(headers) => headers,
        Err(name) => {
            return local_error(
                400,
                ErrorType::Protocol,
                ErrorTag::MalformedMessage,
                &format!("the {name} header is not visible ASCII"),
            )
        }
    };
    let request = data::Request {
        method,
        path,
        query: parts.uri.query(),
        content_type: headers.content_type.as_deref(),
        accept: headers.accept.as_deref(),
        via: headers.via.as_deref(),
        body,
    };
    let peer = PeerIdentity::client(cuid);
    Answer::Restconf(shared.with_data(|data, now| data.handle_request(now, &peer, &request)))
}

/// The request headers the data server looks at, several lines of one joined with `, `.
struct Headers {
    content_type: Option<String>,
    accept: Option<String>,
    via: Option<String>,
}

impl Headers {
    /// The headers, or the name of one that is not visible ASCII.
    fn of(map: &HeaderMap) -> Result<Headers, &'static str> {
        Ok(Headers {
            content_type: joined(map, &CONTENT_TYPE).map_err(|()| "Content-Type")?,
            accept: joined(map, &ACCEPT).map_err(|()| "Accept")?,
            via: joined(map, &VIA).map_err(|()| "Via")?,
        })
    }
}

fn joined(map: &HeaderMap, name: &HeaderName) -> Result<Option<String>, ()> {
    let mut out: Option<String> = None;
    for value in map.get_all(name) {
        let value = value.to_str().map_err(|_| ())?;
        match &mut out {
            Some(s) => {
                s.push_str(", ");
                s.push_str(value);
            }
            None => out = Some(value.to_owned()),
        }
    }
    Ok(out)
}

/// What to send back.
enum Answer {
    /// A RESTCONF response of the data server (or one made here in its format).
    Restconf(data::Response),
    /// The host-meta document.
    HostMeta(String),
}

/// An error the HTTP layer finds before the data server sees the request, in the same RESTCONF
/// format (RFC 8040 Section 7.1).
fn local_error(status: u16, error_type: ErrorType, tag: ErrorTag, message: &str) -> Answer {
    let errors = RestconfErrors::single(RestconfError::new(error_type, tag).with_message(message));
    Answer::Restconf(data::Response::json(status, errors.to_json()))
}

fn into_hyper(answer: Answer) -> hyper::Response<Full<Bytes>> {
    let (status, headers, body): (u16, Vec<(&str, String)>, Vec<u8>) = match answer {
        Answer::Restconf(r) => {
            let headers = r.headers().map(|(n, v)| (n, v.to_owned())).collect();
            (r.status, headers, r.body)
        }
        Answer::HostMeta(xrd) => (
            200,
            vec![("Content-Type", "application/xrd+xml".to_owned())],
            xrd.into_bytes(),
        ),
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        // The data server's header values are ASCII (media types, percent-encoded paths).
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
