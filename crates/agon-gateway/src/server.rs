//! The gateway's HTTP server: HTTP/1.1 keep-alive and HTTP/2 on one port, connection hygiene (header-read and
//! idle timeouts, header size limits, a cap on open connections; see `conn.rs`), and a drain on shutdown that
//! lets every open connection finish its in-flight requests.

use std::{convert::Infallible, sync::Arc, time::Duration};

use hyper::service::service_fn;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};

use crate::{
    Gateway,
    conn::{Activity, Counted, Limits, Tracked},
};

/// Longest a drain waits for open connections before the process exits anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // The whole head must fit in the read buffer: beyond it hyper answers 431 itself (without a body).
        .max_buf_size(limits.max_headers_total_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_headers_total_bytes).unwrap_or(u32::MAX));
    builder
}

pub async fn serve(
    gateway: Gateway,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let limits = gateway.inner.limits.clone();
    let builder = Arc::new(builder(&limits));
    // Each connection holds a receiver: the drain signals through it and waits until every one is dropped.
    let (drain, draining) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(error) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(permit) = limits.admit() else {
                    limits.refuse(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let io = TokioIo::new(Counted::new(stream, permit));
                tokio::spawn(connection(gateway.clone(), builder.clone(), io, peer, draining.clone()));
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    drop(draining);
    let _ = drain.send(true);
    if tokio::time::timeout(DRAIN_TIMEOUT, drain.closed())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout");
    }
    Ok(())
}

/// Serves one client connection until it ends; shuts it down gracefully when it has been idle for the idle
/// timeout (no request in flight) or when the server drains.
async fn connection(
    gateway: Gateway,
    builder: Arc<auto::Builder<TokioExecutor>>,
    io: TokioIo<Counted>,
    peer: std::net::SocketAddr,
    mut draining: tokio::sync::watch::Receiver<bool>,
) {
    let limits = gateway.inner.limits.clone();
    let activity = Activity::new();
    let peer = Arc::new(crate::Peer::new(peer));
    let watched = activity.clone();
    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let gateway = gateway.clone();
        let peer = peer.clone();
        // Dropped with the future if the client goes away mid-request, else with the response body.
        let guard = watched.begin();
        let watched = watched.clone();
        async move {
            let response = match crate::conn::oversized_header(
                req.headers(),
                gateway.inner.limits.max_header_bytes,
            ) {
                Some(refused) => refused,
                None => gateway.handle(req, &peer).await,
            };
            if response.status() == http::StatusCode::SWITCHING_PROTOCOLS {
                watched.upgraded();
            }
            Ok::<_, Infallible>(response.map(|body| Tracked::new(body, guard)))
        }
    });
    let connection = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        let idle_at = activity.deadline(limits.idle_timeout);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            _ = draining.wait_for(|drain| *drain), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = sleep_until(idle_at), if !closing => {
                if activity.deadline(limits.idle_timeout).is_none() {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// Serves on `threads` threads, each running its own single-threaded runtime with its own `SO_REUSEPORT`
/// listener on `addr`: the kernel spreads connections across them, and everything a request does (its client
/// connection, its upstream connection) stays on one thread — no work stealing, no cross-thread wake-ups.
/// Returns once every thread listens; the threads drain and stop when `shutdown` resolves.
pub fn serve_per_thread(
    gateway: Gateway,
    addr: std::net::SocketAddr,
    threads: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<crate::Serving> {
    let threads = threads.max(1);
    let first = reuseport_listener(addr)?;
    // With port 0, the others join the port the first one got.
    let bound = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..threads {
        listeners.push(reuseport_listener(bound)?);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let mut handles = Vec::with_capacity(threads);
    for (i, listener) in listeners.into_iter().enumerate() {
        let gateway = gateway.for_thread();
        let mut stopped = stopped.clone();
        let handle = std::thread::Builder::new()
            .name(format!("agon-gateway-{i}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        tracing::error!(%error, "serving thread could not start");
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            tracing::error!(%error, "listener could not join the runtime");
                            return;
                        }
                    };
                    let until = async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    };
                    if let Err(error) = serve(gateway, listener, until).await {
                        tracing::error!(error = format!("{error:#}"), "serving thread stopped");
                    }
                });
            })?;
        handles.push(handle);
    }
    Ok(crate::Serving {
        addr: bound,
        threads: handles,
    })
}

fn reuseport_listener(addr: std::net::SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}
