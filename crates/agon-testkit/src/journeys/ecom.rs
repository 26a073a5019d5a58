//! little-ecom (seed 004) end to end, as its integration script and Go backend's clients call it: accounts, an
//! item put on sale, read, repriced and listed, bought on account by another member, the seller's account gone.

use serde_json::{Value, json};

use super::SeedClient;

/// Registers and signs in: the token is the sign-in's whole body.
async fn sign_in(c: &SeedClient, email: &str) -> String {
    let credentials = json!({ "email": email, "password": "securepassword" });
    let (status, body) = c
        .call("POST", "/auth/register", None, Some(credentials.clone()))
        .await;
    assert_eq!((status, body), (201, json!("")));
    let (status, token) = c
        .call("POST", "/auth/signin", None, Some(credentials))
        .await;
    assert_eq!(status, 200, "{token}");
    token.as_str().unwrap().to_owned()
}

pub async fn little_ecom(base: &str) {
    let c = SeedClient::new(base);
    let seller = sign_in(&c, "megy@gmail.com").await;
    let buyer = sign_in(&c, "testowner@example.com").await;
    let item = json!({ "name": "apple", "owner": "megy", "price": 0.99 });
    let (status, id) = c.call("POST", "/item", Some(&seller), Some(item)).await;
    assert_eq!(status, 201, "{id}");
    let id = id.as_str().unwrap().to_owned();
    // The seller's name reaches the shop through the bus, maybe after the item.
    let path = format!("/item/{id}");
    let mut item = c
        .until("the item's owner", ("GET", &path, None, None), |_, i| {
            i["owner"] == "megy"
        })
        .await;
    assert_eq!(
        item,
        json!({ "id": id, "owner": "megy", "name": "apple", "price": 0.99 })
    );
    item["price"] = json!(1.25);
    assert_eq!(
        c.call("PUT", &path, Some(&seller), Some(item)).await,
        (200, json!(""))
    );
    let (_, mine) = c.call("GET", "/items/megy", None, None).await;
    assert_eq!(
        mine,
        json!([{ "id": id, "owner": "megy", "name": "apple", "price": 1.25 }])
    );

    // Bought on account: the saga runs across the shop and the ledger; the buy answers once it is paid.
    let buy = format!("/buy/{id}");
    assert_eq!(
        c.call("POST", &buy, Some(&seller), None).await,
        (400, json!("You can't buy your own item\n"))
    );
    assert_eq!(
        c.call("POST", &buy, Some(&buyer), None).await,
        (200, json!(""))
    );
    assert_eq!(
        c.call("POST", &buy, Some(&buyer), None).await,
        (404, json!("Item not found\n"))
    );
    let (_, account) = c
        .call("GET", "/ledger/accounts/me", Some(&buyer), None)
        .await;
    assert_eq!(
        (&account["balance"], &account["currency"]),
        (&json!(-125), &json!("USD")),
        "{account}"
    );
    let (_, items) = c.call("GET", "/items", None, None).await;
    assert_eq!(items, Value::Array(vec![]));

    let gone = json!({ "email": "megy@gmail.com", "password": "securepassword" });
    assert_eq!(
        c.call("DELETE", "/auth/delete", None, Some(gone)).await.0,
        204
    );
    let token = json!({ "token": seller });
    c.until(
        "the deleted account's token refused",
        ("POST", "/auth/validate", None, Some(token)),
        |s, _| s == 401,
    )
    .await;
}
