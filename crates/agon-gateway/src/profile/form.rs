//! A client's `multipart/form-data` body: its text fields (read as `{body.…}`) and its files (a call's `file`).

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use serde_json::{Map, Value};

/// What the client sent: its body as read, and the files of a `multipart/form-data` body.
pub(super) struct Sent {
    pub raw: Bytes,
    pub files: Vec<Part>,
}

/// A file part of a multipart body.
#[derive(Debug)]
pub(super) struct Part {
    pub name: String,
    pub content_type: Option<HeaderValue>,
    pub bytes: Bytes,
}

/// The boundary of a `multipart/form-data` body, if the request declares one.
pub(super) fn multipart_boundary(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
        .then(|| multer::parse_boundary(content_type).ok())
        .flatten()
}

/// The text fields of a form and all its parts (text ones too: some clients send a file with neither a name nor
/// a type).
pub(super) type Form = (Map<String, Value>, Vec<Part>);

/// Reads a multipart body already held in memory (bounded by the route's `max_body`).
pub(super) async fn read_form(raw: Bytes, boundary: String) -> Result<Form, multer::Error> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(raw) });
    let mut form = multer::Multipart::new(stream, boundary);
    let (mut fields, mut files) = (Map::new(), Vec::new());
    while let Some(field) = form.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = field.file_name().is_some() || field.content_type().is_some();
        let content_type =
            (field.content_type()).and_then(|m| HeaderValue::from_str(m.as_ref()).ok());
        let bytes = field.bytes().await?;
        if !is_file {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            fields.insert(name.clone(), Value::String(text));
        }
        // Every part can be a call's `file`: some clients send a file with neither a name nor a type.
        files.push(Part {
            name,
            content_type,
            bytes,
        });
    }
    Ok((fields, files))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn a_form_gives_its_text_fields_and_every_part_as_a_file() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
                    --b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\n\
                    Content-Type: image/png\r\n\r\n\u{89}PNG\r\n--b--\r\n";
        let mut headers = HeaderMap::new();
        let form_type = HeaderValue::from_static("multipart/form-data; boundary=b");
        headers.insert(header::CONTENT_TYPE, form_type);
        let boundary = multipart_boundary(&headers).unwrap();
        let (fields, files) = read_form(Bytes::from(body), boundary).await.unwrap();
        assert_eq!(Value::Object(fields), json!({ "note": "hello" }));
        let photo = files.iter().find(|p| p.name == "photo").unwrap();
        assert_eq!(photo.content_type.as_ref().unwrap(), "image/png");
        assert_eq!(&photo.bytes[..], "\u{89}PNG".as_bytes());
        assert!(files.iter().any(|p| p.name == "note"));
        // Not a form, or a broken one.
        assert!(multipart_boundary(&HeaderMap::new()).is_none());
        let broken = read_form(Bytes::from_static(b"--b\r\nno headers"), "b".into()).await;
        assert!(broken.is_err());
    }
}
