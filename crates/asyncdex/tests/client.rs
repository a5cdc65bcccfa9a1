//! Both backends, and the blocking one offloaded, answer alike against the mirror, and
//! every failure comes back as the right kind of error.

use crate::common;

use std::time::Duration;

use asyncdex::http::{Blocking, HttpOptions, Native, Offloaded, Transport};
use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::pokeapi::{BlockingClient, Client, Key, Resource};
use asyncdex::ErrorKind;
use asyncdex_engine::offload::Pool;

fn opts() -> HttpOptions {
    HttpOptions {
        timeout: Some(Duration::from_secs(10)),
        ..HttpOptions::default()
    }
}

async fn check_async_client<T: Transport>(client: Client<T>) {
    let p = client.pokemon(25).await.unwrap();
    assert_eq!(p.name, "pikachu");
    let by_name = client
        .pokemon("PIKACHU".parse::<Key>().unwrap())
        .await
        .unwrap();
    assert_eq!(by_name, p);
    assert_eq!(client.name(4).await.unwrap(), "charmander");
    assert_eq!(client.species(133).await.unwrap().name, "eevee");
    assert_eq!(client.kind(13).await.unwrap().name, "electric");
    let page = client.page(Resource::Pokemon, 5, 1346).await.unwrap();
    assert_eq!((page.count, page.results.len(), page.next), (1351, 5, None));
    let err = client.pokemon(99999).await.unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::NotFound, Some(404)));
    assert_eq!(err.to_string(), "not found: pokemon 99999");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(5);
    let id = asyncdex::draw::random_ids(1, &mut rng)[0];
    assert_eq!(
        Some(client.name(id).await.unwrap().as_str()),
        asyncdex::draw::embedded_name(id)
    );
}

#[tokio::test]
async fn native_backend_speaks_to_the_mirror() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    check_async_client(Client::new(
        mirror.base_url(),
        Native::new(&opts()).unwrap(),
    ))
    .await;
}

#[tokio::test]
async fn offloaded_blocking_backend_speaks_to_the_mirror() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let transport = Offloaded::new(Blocking::new(&opts()), Pool::new("http", 4));
    check_async_client(Client::new(mirror.base_url(), transport)).await;
}

#[tokio::test]
async fn blocking_client_speaks_to_the_mirror() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let base = mirror.base_url().to_owned();
    tokio::task::spawn_blocking(move || {
        let client = BlockingClient::new(&base, Blocking::new(&opts()));
        assert_eq!(client.pokemon(25).unwrap().name, "pikachu");
        assert_eq!(client.name(1).unwrap(), "bulbasaur");
        assert_eq!(client.kind("fairy".parse::<Key>().unwrap()).unwrap().id, 18);
        let err = client.pokemon(99999).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn refused_connections_are_connect_errors_in_both_backends() {
    let url = common::refused_url();
    let err = Client::new(&url, Native::new(&opts()).unwrap())
        .name(1)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    let blocking = Offloaded::new(Blocking::new(&opts()), Pool::new("t", 1));
    let err = Client::new(&url, blocking).name(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
}

#[tokio::test]
async fn html_answers_are_decode_errors_in_both_backends() {
    let url = common::fixed_server(common::HTML, Duration::ZERO, 4);
    let err = Client::new(&url, Native::new(&opts()).unwrap())
        .pokemon(1)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("non-JSON"), "{err}");
    let blocking = Offloaded::new(Blocking::new(&opts()), Pool::new("t", 1));
    let err = Client::new(&url, blocking).pokemon(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
}

#[tokio::test]
async fn slow_servers_are_timeouts_in_both_backends() {
    let url = common::fixed_server(common::HTML, Duration::from_secs(5), 4);
    let short = HttpOptions {
        timeout: Some(Duration::from_millis(200)),
        ..HttpOptions::default()
    };
    let err = Client::new(&url, Native::new(&short).unwrap())
        .name(1)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    let blocking = Offloaded::new(Blocking::new(&short), Pool::new("t", 1));
    let err = Client::new(&url, blocking).name(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn the_native_backend_speaks_http2_to_the_mirror() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let h2 = HttpOptions {
        http2: true,
        ..opts()
    };
    check_async_client(Client::new(mirror.base_url(), Native::new(&h2).unwrap())).await;
    // Many calls at once share one HTTP/2 connection; all of them arrive.
    let client = Client::new(mirror.base_url(), Native::new(&h2).unwrap());
    let names = futures::future::join_all((1..=300).map(|id| client.name(id))).await;
    assert!(names.iter().all(Result::is_ok));
}
