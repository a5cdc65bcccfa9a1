//! An HTTP/2 client that reads nothing, for the tests of what a server holds for it. Apart
//! from `common` because the CLI's tests include `common` and have no h2 of their own.

/// An HTTP/2 client of `addr` that never opens its receive window, so every answer it
/// asks for stays with the server; and the task driving its connection.
pub async fn h2_that_reads_nothing(
    addr: std::net::SocketAddr,
) -> (
    h2::client::SendRequest<bytes::Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (send, conn) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, bytes::Bytes>(tcp)
        .await
        .unwrap();
    (send, tokio::spawn(conn))
}
