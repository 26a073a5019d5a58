//! Hostile access tokens: each is refused with 401 by the gateway's edge check and by a service.

use agon_testkit::{TestApp, assert_problem, json};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// Replaces the header of `token`, keeping payload and signature.
fn with_header(token: &str, header: Value) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    let h = b64(&header);
    parts[0] = &h;
    parts.join(".")
}

fn with_payload(token: &str, payload: &Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = b64(payload);
    parts.join(".")
}

#[tokio::test]
async fn hostile_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.register("ana@club.org").await;
    let good = user.access_token.clone();
    let claims = agon_testkit::claims(&good);
    let kid = serde_json::from_slice::<Value>(
        &URL_SAFE_NO_PAD
            .decode(good.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap()["kid"]
        .clone();
    let now = chrono::Utc::now().timestamp();
    let mut expired = claims.clone();
    expired["iat"] = json!(now - 7200);
    expired["nbf"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);
    let mut future = claims.clone();
    future["nbf"] = json!(now + 3600);
    future["exp"] = json!(now + 7200);
    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = json!("evil");
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("other");
    let mut admin = claims.clone();
    admin["roles"] = json!(["admin"]);
    let mut extra = claims.clone();
    extra["scope"] = json!("everything");

    let hs_secret = jsonwebtoken::EncodingKey::from_secret(b"public key bytes as hmac secret");
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = kid.as_str().map(str::to_owned);
    hs_header.typ = Some("at+jwt".into());
    let hs256 = jsonwebtoken::encode(&hs_header, &claims, &hs_secret).unwrap();
    let stripped: String = good.rsplit_once('.').unwrap().0.to_owned() + ".";
    let mut flipped = good.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'A' { 'B' } else { 'A' });

    let tokens: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "at+jwt", "kid": kid})),
                b64(&claims)
            ),
        ),
        (
            "alg none, no typ",
            format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims)),
        ),
        ("HS256 confusion", hs256),
        (
            "unknown kid",
            with_header(
                &good,
                json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "nope"}),
            ),
        ),
        (
            "no kid",
            with_header(&good, json!({"alg": "EdDSA", "typ": "at+jwt"})),
        ),
        (
            "forged jku",
            with_header(
                &good,
                json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "x", "jku": "http://127.0.0.1:1/jwks"}),
            ),
        ),
        (
            "embedded jwk",
            with_header(
                &good,
                json!({"alg": "EdDSA", "typ": "at+jwt", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}}),
            ),
        ),
        ("wrong typ", app.sign(&claims, "JWT").await),
        (
            // RFC 7515 §4.1.11: an extension the verifier does not understand must make it refuse the token.
            "critical extension",
            app.sign_with(&claims, |h| {
                h.typ = Some("at+jwt".into());
                h.crit = Some(vec!["exp-delegation".into()]);
                h.extras.insert("exp-delegation", "anything");
            })
            .await,
        ),
        (
            "missing typ",
            with_header(&good, json!({"alg": "EdDSA", "kid": kid})),
        ),
        ("expired", app.sign(&expired, "at+jwt").await),
        ("nbf in the future", app.sign(&future, "at+jwt").await),
        ("wrong iss", app.sign(&wrong_iss, "at+jwt").await),
        ("wrong aud", app.sign(&wrong_aud, "at+jwt").await),
        ("unknown claim", app.sign(&extra, "at+jwt").await),
        (
            "escalated payload, old signature",
            with_payload(&good, &admin),
        ),
        ("stripped signature", stripped),
        ("altered signature", flipped),
        ("refresh token as access token", user.refresh_token.clone()),
        ("garbage", "not.a.jwt".into()),
        ("empty segments", "..".into()),
        (
            "signed by another key",
            other_key_token(&claims, kid.as_str().unwrap()),
        ),
    ];
    assert!(tokens.len() >= 20);
    for (name, token) in tokens {
        for path in ["/users/me", "/gateway/services"] {
            let response = app
                .client
                .get(app.url(path))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401, "{name} at {path}");
            assert_problem(
                response,
                401,
                if name == "expired" {
                    "token_expired"
                } else {
                    "invalid_token"
                },
            )
            .await;
        }
    }
    // The genuine token still works, and a malformed header is a 401 too.
    assert_eq!(
        app.with_token(&good)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let response = app
        .client
        .get(app.url("/users/me"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "invalid_token").await;
    let response = app.client.get(app.url("/users/me")).send().await.unwrap();
    assert_problem(response, 401, "unauthenticated").await;
}

fn other_key_token(claims: &Value, kid: &str) -> String {
    // A valid Ed25519 key that the platform never published, claiming the real key id.
    let pkcs8 = URL_SAFE_NO_PAD
        .decode("MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp-K06_nwoy_HU--Cx5c0mwEXs")
        .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_ed_der(&pkcs8),
    )
    .unwrap()
}
