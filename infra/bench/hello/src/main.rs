//! Hello world on lambda_http: the cold-start floor `infra/bench` compares every
//! function with (same runtime crate, same features, same release profile).

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_request: Request| async {
        Ok::<_, Error>(Response::builder().header("content-type", "text/plain").body(Body::from("hello"))?)
    }))
    .await
}
