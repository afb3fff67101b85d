//! A buyer's browser downloads the widget compressed as the build stored it (brotli, else
//! gzip, else as is, whichever it accepts), decodes exactly the built file, and keeps the
//! content-hashed files for good.

use debrief_tests::{spawn_app_with, Backend, TestApp};
use std::io::{Read, Write};
use std::path::Path;

const SCRIPT: &str = "debrief_widget.0123456789abcdef.js";

/// A built widget as `scripts/build-widget.sh` leaves it: each file with its `.br` and
/// `.gz` beside it.
fn built_widget(dir: &Path) -> Vec<u8> {
    let script: Vec<u8> = (0..2_000)
        .flat_map(|n| format!("export function f{n}() {{ return {n}; }}\n").into_bytes())
        .collect();
    for (name, body) in [
        (SCRIPT, script.as_slice()),
        ("embed.js", b"import './x.js';"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, body).expect("file");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(body).expect("gzip");
        std::fs::write(dir.join(format!("{name}.gz")), gz.finish().expect("gzip")).expect("gz");
        let mut br = Vec::new();
        brotli::CompressorWriter::new(&mut br, 4096, 11, 22)
            .write_all(body)
            .expect("brotli");
        std::fs::write(dir.join(format!("{name}.br")), br).expect("br");
    }
    script
}

/// The app with a built widget in `{dir}/dist`; `{dir}` holds other files beside it.
async fn app_with_widget() -> (TestApp, tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().expect("dir");
    let dist = dir.path().join("dist");
    std::fs::create_dir(&dist).expect("dist");
    let script = built_widget(&dist);
    let widget_dir = dist.display().to_string();
    let app = spawn_app_with(Backend::Sqlite, &[("DEBRIEF_WIDGET_DIR", &widget_dir)]).await;
    (app, dir, script)
}

async fn get(app: &TestApp, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(format!("{}{path}", app.address));
    if let Some(accept) = accept {
        request = request.header("Accept-Encoding", accept);
    }
    request.send().await.expect("request")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The body as the browser reads it, decoded by real decoders.
async fn decoded(response: reqwest::Response) -> Vec<u8> {
    let encoding = header(&response, "content-encoding");
    let body = response.bytes().await.expect("body");
    let mut out = Vec::new();
    match encoding.as_str() {
        "br" => brotli::Decompressor::new(&body[..], 4096)
            .read_to_end(&mut out)
            .map(|_| ())
            .expect("brotli"),
        "gzip" => flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .map(|_| ())
            .expect("gzip"),
        "" | "identity" => out = body.to_vec(),
        other => panic!("unexpected encoding {other}"),
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_arrives_in_the_best_encoding_the_browser_takes_and_decodes_to_the_build() {
    let (app, _dir, script) = app_with_widget().await;
    let path = format!("/widget/{SCRIPT}");
    for (accept, expected) in [
        // What Chromium sends.
        (Some("gzip, deflate, br, zstd"), "br"),
        (Some("gzip"), "gzip"),
        (Some("br;q=0, gzip"), "gzip"),
        (Some("gzip;q=1, br;q=0.5"), "gzip"),
        (Some("*"), "br"),
        (Some("br;q=0, gzip;q=0"), ""),
        (None, ""),
    ] {
        let response = get(&app, &path, accept).await;
        assert_eq!(response.status(), 200, "{accept:?}");
        assert_eq!(
            header(&response, "content-encoding").replace("identity", ""),
            expected,
            "{accept:?}"
        );
        assert!(
            header(&response, "content-type").starts_with("text/javascript"),
            "{accept:?}: {}",
            header(&response, "content-type")
        );
        assert_eq!(header(&response, "vary"), "accept-encoding");
        assert_eq!(
            header(&response, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert!(header(&response, "content-disposition").is_empty());
        let compressed = response.content_length();
        let body = decoded(response).await;
        assert!(
            body == script,
            "{accept:?}: the decoded body is not the build"
        );
        if !expected.is_empty() {
            let compressed = compressed.expect("length") as usize;
            assert!(
                compressed * 5 < script.len(),
                "{accept:?}: {compressed} bytes"
            );
        }
    }
    // A range of the file is a range of the file itself, never of a compressed copy.
    let range = app
        .http
        .get(format!("{}{path}", app.address))
        .header("Accept-Encoding", "br, gzip")
        .header("Range", "bytes=0-99")
        .send()
        .await
        .expect("request");
    assert_eq!(range.status(), 206);
    assert_eq!(decoded(range).await, script[..100]);
    // embed.js, the one name a portal writes, is compressed too but revalidated.
    let embed = get(&app, "/widget/embed.js", Some("gzip")).await;
    assert_eq!(header(&embed, "content-encoding"), "gzip");
    assert_eq!(header(&embed, "cache-control"), "no-cache");
    assert_eq!(decoded(embed).await, b"import './x.js';");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_built_files_are_served() {
    let (app, dir, _) = app_with_widget().await;
    std::fs::write(dir.path().join("dist/.secret"), "no").expect("file");
    // Beside the widget's folder, one step up.
    std::fs::write(dir.path().join("secret.js"), "no").expect("file");
    for path in [
        "/widget/missing.js",
        "/widget/.secret",
        "/widget/embed.js.br",
        "/widget/embed.js.gz",
        "/widget/..%2Fsecret.js",
        "/widget/..%5Csecret.js",
    ] {
        let response = get(&app, path, Some("br, gzip")).await;
        assert_eq!(response.status(), 404, "{path}");
    }
}
