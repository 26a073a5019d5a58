//! The gateway's HTTP server: HTTP/1.1 keep-alive and HTTP/2 on one port, and a drain on shutdown that lets
//! every open connection finish its in-flight requests.

use std::{convert::Infallible, time::Duration};

use hyper::service::service_fn;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::{conn::auto, graceful::GracefulShutdown},
};

use crate::Gateway;

/// Longest a drain waits for open connections before the process exits anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn serve(
    gateway: Gateway,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
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
                let _ = stream.set_nodelay(true);
                let gateway = gateway.clone();
                let peer = std::sync::Arc::new(crate::Peer::new(peer));
                let service = service_fn(move |req| {
                    let gateway = gateway.clone();
                    let peer = peer.clone();
                    async move { Ok::<_, Infallible>(gateway.handle(req, &peer).await) }
                });
                let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout");
    }
    Ok(())
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
