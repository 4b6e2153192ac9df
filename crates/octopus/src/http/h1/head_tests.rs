//! Request heads as they go out, response heads as they are read.

use super::*;

fn text(method: Method, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> String {
    let url = Url::parse(url).unwrap();
    let headers: Vec<(HeaderName, HeaderValue)> = headers
        .iter()
        .map(|(n, v)| (n.parse().unwrap(), v.parse().unwrap()))
        .collect();
    let request = Outgoing {
        method: &method,
        url: &url,
        headers: headers.iter().map(|(n, v)| (n, v)),
        body,
    };
    String::from_utf8(request_bytes(&request, None).unwrap()).unwrap()
}

#[test]
fn the_request_carries_what_ureq_would_add() {
    assert_eq!(
        text(
            Method::GET,
            "http://a.test:8080/p?q=1",
            &[("accept", "*/*")],
            None
        ),
        "GET /p?q=1 HTTP/1.1\r\nhost: a.test:8080\r\naccept: */*\r\n\r\n"
    );
    assert_eq!(
        text(Method::POST, "http://u:pw@a.test:80/", &[], Some(b"x=1")),
        "POST / HTTP/1.1\r\nhost: a.test\r\nauthorization: Basic dTpwdw==\r\n\
         content-length: 3\r\n\r\nx=1"
    );
    assert_eq!(
        text(Method::GET, "http://a.test/", &[("host", "b.test")], None),
        "GET / HTTP/1.1\r\nhost: b.test\r\n\r\n"
    );
    assert_eq!(
        text(Method::GET, "http://[::1]:81/?x", &[], None),
        "GET /?x HTTP/1.1\r\nhost: [::1]:81\r\n\r\n"
    );
    let url = Url::parse("http://a.test/").unwrap();
    let head = Outgoing {
        method: &Method::HEAD,
        url: &url,
        headers: std::iter::empty(),
        body: Some(b"x".as_slice()),
    };
    assert!(request_bytes(&head, None).is_err());
}

#[test]
fn through_a_proxy_the_target_is_absolute_and_the_proxy_gets_its_credentials() {
    let proxy = crate::http::route::proxy::Proxy::parse("http://me:secret@127.0.0.1:3128").unwrap();
    let url = Url::parse("http://u:pw@a.test:8080/p?q=1#part").unwrap();
    let via = crate::http::route::proxy::Via::new(&std::sync::Arc::new(proxy), &url, false);
    let request = Outgoing {
        method: &Method::GET,
        url: &url,
        headers: std::iter::empty(),
        body: None,
    };
    let text = String::from_utf8(request_bytes(&request, Some(&via)).unwrap()).unwrap();
    assert_eq!(
        text,
        "GET http://a.test:8080/p?q=1 HTTP/1.1\r\nproxy-authorization: Basic bWU6c2VjcmV0\r\n\
         host: a.test:8080\r\nauthorization: Basic dTpwdw==\r\n\r\n"
    );
}

#[test]
fn a_head_is_read_whole_or_not_at_all() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nX-A: 2\r\n\r\nok";
    let (used, (version, status, headers)) = parse_head(input).unwrap().unwrap();
    assert_eq!(&input[used..], b"ok");
    assert_eq!((version, status.as_u16()), (Version::HTTP_11, 200));
    let values: Vec<&[u8]> = headers
        .get_all("x-a")
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    assert_eq!(values, [b"1", b"2"]);
    assert_eq!(headers.get("content-length").unwrap(), "2");
    assert!(parse_head(&input[..20]).unwrap().is_none());
    assert!(parse_head(b"HTTP/1.1 099 Low\r\n\r\n").is_err());
    // Past the lines most heads fit in, every line that fits in the head is read.
    for lines in [USUAL_HEADER_LINES + 1, 1000, 6000] {
        let many: String = (0..lines).map(|i| format!("x-{i}: 1\r\n")).collect();
        let head = format!("HTTP/1.1 200 OK\r\n{many}\r\nbody");
        let (used, (_, _, headers)) = parse_head(head.as_bytes()).unwrap().unwrap();
        assert_eq!((headers.len(), &head[used..]), (lines, "body"));
    }
}

#[test]
fn close_is_a_token_of_connection() {
    let mut headers = HeaderMap::new();
    assert!(!asks_to_close(&headers));
    headers.insert(
        header::CONNECTION,
        HeaderValue::from_static("keep-alive, Close"),
    );
    assert!(asks_to_close(&headers));
}
