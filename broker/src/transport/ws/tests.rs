use futures_util::{SinkExt, StreamExt};
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::{client_async, WebSocketStream};

use super::*;
use bytes::Bytes;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

/// CONNECT for MQTT 3.1.1, client id "a".
const CONNECT: &[u8] = b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01a";
/// PINGREQ.
const PINGREQ: &[u8] = b"\xc0\x00";
const MAX_PACKET: usize = 1024;

type Client = WebSocketStream<DuplexStream>;

/// A client handshake (with `protocols` in Sec-WebSocket-Protocol, none if empty) against
/// `accept` on `path`.
async fn connect_to(
    url: &str,
    protocols: &str,
    path: &str,
) -> (
    Result<(Client, Response), tungstenite::Error>,
    Result<WsStream<DuplexStream>, WsError>,
) {
    let (client_io, server_io) = duplex(64 * 1024);
    let mut request = url.into_client_request().unwrap();
    if !protocols.is_empty() {
        request
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_PROTOCOL, protocols.parse().unwrap());
    }
    tokio::join!(
        client_async(request, client_io),
        accept(server_io, path, MAX_PACKET)
    )
}

async fn connect(protocols: &str) -> (Client, Response, WsStream<DuplexStream>) {
    let (client, server) = connect_to("ws://localhost/mqtt", protocols, DEFAULT_PATH).await;
    let (client, response) = client.unwrap();
    (client, response, server.unwrap())
}

fn negotiated(response: &Response) -> &str {
    response.headers()[header::SEC_WEBSOCKET_PROTOCOL]
        .to_str()
        .unwrap()
}

/// Sends a raw HTTP request and returns the whole answer and the accept error.
async fn raw_request(request: &str) -> (String, WsError) {
    let (mut client, server_io) = duplex(64 * 1024);
    client.write_all(request.as_bytes()).await.unwrap();
    let err = match accept(server_io, DEFAULT_PATH, MAX_PACKET).await {
        Ok(_) => panic!("accepted {request:?}"),
        Err(e) => e,
    };
    let mut answer = String::new();
    client.read_to_string(&mut answer).await.unwrap();
    (answer, err)
}

fn http_status(err: &tungstenite::Error) -> (u16, String) {
    match err {
        tungstenite::Error::Http(response) => (
            response.status().as_u16(),
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned(),
        ),
        other => panic!("expected an HTTP error response, got {other}"),
    }
}

#[tokio::test]
async fn mqtt_subprotocol_negotiated() {
    let (_client, response, server) = connect("mqtt").await;
    assert_eq!(negotiated(&response), "mqtt");
    assert_eq!(server.subprotocol(), "mqtt");
}

#[tokio::test]
async fn mqttv31_negotiated() {
    let (_client, response, server) = connect("mqttv3.1").await;
    assert_eq!(negotiated(&response), "mqttv3.1");
    assert_eq!(server.subprotocol(), "mqttv3.1");
}

#[tokio::test]
async fn first_supported_offer_is_echoed() {
    // Older Paho JavaScript offers ["mqtt", "mqttv3.1"]; order decides.
    let (_client, response, _server) = connect("chat, mqttv3.1, mqtt").await;
    assert_eq!(negotiated(&response), "mqttv3.1");
    let (_client, response, _server) = connect("mqtt,mqttv3.1").await;
    assert_eq!(negotiated(&response), "mqtt");
}

#[tokio::test]
async fn missing_subprotocol_refused_with_400() {
    let (client, server) = connect_to("ws://localhost/mqtt", "", DEFAULT_PATH).await;
    let (status, body) = http_status(&client.unwrap_err());
    assert_eq!(status, 400);
    assert!(body.contains("mqtt"), "{body}");
    let err = server.err().unwrap();
    assert!(matches!(err, WsError::NoSubprotocol { ref offered } if offered.is_empty()));
    assert!(err.to_string().contains("mqttv3.1"), "{err}");
}

#[tokio::test]
async fn other_subprotocols_refused_with_400() {
    let (client, server) = connect_to("ws://localhost/mqtt", "chat, wamp", DEFAULT_PATH).await;
    assert_eq!(http_status(&client.unwrap_err()).0, 400);
    let err = server.err().unwrap();
    assert!(err.to_string().contains("[chat, wamp]"), "{err}");
}

#[tokio::test]
async fn wrong_path_refused_with_404() {
    let (client, server) = connect_to("ws://localhost/ws", "mqtt", DEFAULT_PATH).await;
    let (status, body) = http_status(&client.unwrap_err());
    assert_eq!(status, 404);
    assert!(body.contains("/mqtt"), "{body}");
    let err = server.err().unwrap();
    assert!(
        matches!(err, WsError::WrongPath { ref requested, ref served } if requested == "/ws" && served == "/mqtt"),
        "{err}"
    );
}

#[tokio::test]
async fn configured_path_and_query_string() {
    let (client, server) = connect_to("ws://localhost/broker?token=1", "mqtt", "/broker").await;
    assert!(client.is_ok());
    assert!(server.is_ok());
}

#[tokio::test]
async fn plain_get_refused_with_400() {
    let (answer, err) = raw_request("GET /mqtt?token=s3cret HTTP/1.1\r\nHost: pi\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("MQTT over WebSocket endpoint"), "{answer}");
    assert!(matches!(err, WsError::NotUpgrade { .. }), "{err}");
    assert!(err.to_string().contains("`GET /mqtt`"), "{err}");
    // The query may hold a token: it is not repeated.
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[tokio::test]
async fn plain_get_on_another_path_refused_with_404() {
    let (answer, err) = raw_request("GET /favicon.ico HTTP/1.1\r\nHost: pi\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
    assert!(matches!(err, WsError::WrongPath { .. }), "{err}");
}

#[tokio::test]
async fn long_paths_are_not_repeated_in_full() {
    let long = format!("/{}", "a".repeat(1000));
    let (answer, err) = raw_request(&format!("GET {long} HTTP/1.1\r\n\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
    assert!(err.to_string().len() < 200, "{err}");
    assert!(err.to_string().contains("aaa..."), "{err}");
}

#[tokio::test]
async fn post_refused_with_400() {
    let (answer, err) = raw_request("POST /mqtt HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(err.to_string().contains("only GET"), "{err}");
}

#[tokio::test]
async fn plain_mqtt_on_websocket_listener_is_named() {
    let (mut client, server_io) = duplex(1024);
    client.write_all(CONNECT).await.unwrap();
    let err = accept(server_io, DEFAULT_PATH, MAX_PACKET)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            WsError::NotHttp {
                arrival: Arrival::Mqtt,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("an MQTT CONNECT arrived"),
        "{err}"
    );
}

#[tokio::test]
async fn closed_before_request() {
    let (client, server_io) = duplex(1024);
    drop(client);
    let err = accept(server_io, DEFAULT_PATH, MAX_PACKET)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, WsError::Closed), "{err}");
}

#[tokio::test]
async fn oversized_head_refused_with_431() {
    let (mut client, server_io) = duplex(64 * 1024);
    let request = format!(
        "GET /mqtt HTTP/1.1\r\nCookie: {}\r\n\r\n",
        "x".repeat(MAX_REQUEST_HEAD)
    );
    let (written, accepted) = tokio::join!(
        client.write_all(request.as_bytes()),
        accept(server_io, DEFAULT_PATH, MAX_PACKET)
    );
    written.unwrap();
    assert!(matches!(accepted.err().unwrap(), WsError::TooLarge));
    let mut answer = String::new();
    client.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
}

#[tokio::test]
async fn packet_split_across_two_messages() {
    let (mut client, _, mut server) = connect("mqtt").await;
    client
        .send(Message::binary(CONNECT[..5].to_vec()))
        .await
        .unwrap();
    client
        .send(Message::binary(CONNECT[5..].to_vec()))
        .await
        .unwrap();
    let mut got = vec![0; CONNECT.len()];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(got, CONNECT);
}

#[tokio::test]
async fn packet_split_across_fragments_of_one_message() {
    let (mut client, _, mut server) = connect("mqtt").await;
    let first = Frame::message(CONNECT[..3].to_vec(), OpCode::Data(Data::Binary), false);
    let rest = Frame::message(CONNECT[3..].to_vec(), OpCode::Data(Data::Continue), true);
    client.send(Message::Frame(first)).await.unwrap();
    client.send(Message::Frame(rest)).await.unwrap();
    let mut got = vec![0; CONNECT.len()];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(got, CONNECT);
}

#[tokio::test]
async fn two_packets_in_one_message() {
    let (mut client, _, mut server) = connect("mqtt").await;
    let both = [CONNECT, PINGREQ].concat();
    client.send(Message::binary(both.clone())).await.unwrap();
    let mut got = vec![0; both.len()];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(got, both);
}

#[tokio::test]
async fn small_reads_drain_a_message() {
    let (mut client, _, mut server) = connect("mqtt").await;
    client
        .send(Message::binary(CONNECT.to_vec()))
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut byte = [0; 1];
    while got.len() < CONNECT.len() {
        assert_eq!(server.read(&mut byte).await.unwrap(), 1);
        got.push(byte[0]);
    }
    assert_eq!(got, CONNECT);
}

#[tokio::test]
async fn messages_that_have_arrived_are_read_at_once() {
    let (mut client, _, mut server) = connect("mqtt").await;
    for packet in [CONNECT, PINGREQ, PINGREQ] {
        client.feed(Message::binary(packet.to_vec())).await.unwrap();
    }
    client.flush().await.unwrap();
    // All three are in the pipe before the read: one read returns them all.
    let mut buf = [0; 256];
    let n = server.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], [CONNECT, PINGREQ, PINGREQ].concat());
}

#[tokio::test]
async fn bytes_before_a_text_message_are_read_before_its_error() {
    let (mut client, _, mut server) = connect("mqtt").await;
    client
        .feed(Message::binary(PINGREQ.to_vec()))
        .await
        .unwrap();
    client.feed(Message::text("hello")).await.unwrap();
    client.flush().await.unwrap();
    let mut buf = [0; 64];
    let n = server.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], PINGREQ);
    let err = server.read(&mut buf).await.unwrap_err();
    assert!(err.to_string().contains("MQTT-6.0.0-1"), "{err}");
}

#[tokio::test]
async fn ping_answered_while_broker_only_reads() {
    let (mut client, _, mut server) = connect("mqtt").await;
    // The broker side only reads, as a connection with nothing to send does.
    let reader = tokio::spawn(async move {
        let mut buf = [0; 16];
        let n = server.read(&mut buf).await.unwrap();
        buf[..n].to_vec()
    });
    client
        .send(Message::Ping(Bytes::from_static(b"hi")))
        .await
        .unwrap();
    match client.next().await.unwrap().unwrap() {
        Message::Pong(payload) => assert_eq!(&payload[..], b"hi"),
        other => panic!("expected a pong, got {other:?}"),
    }
    // The reader is still waiting for data and gets the packet sent after the ping.
    client
        .send(Message::binary(PINGREQ.to_vec()))
        .await
        .unwrap();
    assert_eq!(reader.await.unwrap(), PINGREQ);
}

#[tokio::test]
async fn text_message_is_an_error_and_closes() {
    let (mut client, _, mut server) = connect("mqtt").await;
    client.send(Message::text("hello")).await.unwrap();
    let mut buf = [0; 16];
    let err = server.read(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("MQTT-6.0.0-1"), "{err}");
    match client.next().await.unwrap().unwrap() {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Unsupported),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn close_is_eof_and_is_answered() {
    let (mut client, _, mut server) = connect("mqtt").await;
    client
        .send(Message::binary(PINGREQ.to_vec()))
        .await
        .unwrap();
    client.close(None).await.unwrap();
    let mut got = Vec::new();
    server.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, PINGREQ);
    // The server answered the Close, which completes the client's close handshake.
    match client.next().await {
        Some(Ok(Message::Close(_))) => {}
        other => panic!("expected the close reply, got {other:?}"),
    }
    // The connection then drops the stream, which ends the client's.
    drop(server);
    assert!(client.next().await.is_none());
}

#[tokio::test]
async fn dropped_client_is_an_error_not_a_hang() {
    let (client, _, mut server) = connect("mqtt").await;
    drop(client);
    let mut buf = [0; 16];
    assert!(server.read(&mut buf).await.is_err());
}

#[tokio::test]
async fn each_write_is_one_binary_message() {
    let (mut client, _, mut server) = connect("mqtt").await;
    let batch = [CONNECT, PINGREQ, PINGREQ].concat();
    server.write_all(&batch).await.unwrap();
    server.flush().await.unwrap();
    match client.next().await.unwrap().unwrap() {
        Message::Binary(payload) => assert_eq!(payload, batch),
        other => panic!("expected a binary message, got {other:?}"),
    }
}

#[tokio::test]
async fn shutdown_sends_close() {
    let (mut client, _, mut server) = connect("mqtt").await;
    server.shutdown().await.unwrap();
    match client.next().await.unwrap().unwrap() {
        Message::Close(_) => {}
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn oversized_message_is_an_error() {
    let (mut client, _, mut server) = connect("mqtt").await;
    let big = vec![0x30; MAX_PACKET + MESSAGE_SLACK + 1];
    // The server stops reading at the frame header, so the send may never finish.
    let send = tokio::spawn(async move { client.send(Message::binary(big)).await });
    let mut buf = [0; 64];
    let err = server.read(&mut buf).await.unwrap_err();
    send.abort();
    assert!(err.to_string().contains("too large"), "{err}");
}

#[tokio::test]
async fn split_halves_read_and_write_concurrently() {
    let (mut client, _, server) = connect("mqtt").await;
    let (mut reader, mut writer) = tokio::io::split(server);
    let read = tokio::spawn(async move {
        let mut got = vec![0; CONNECT.len()];
        reader.read_exact(&mut got).await.unwrap();
        got
    });
    writer.write_all(PINGREQ).await.unwrap();
    writer.flush().await.unwrap();
    match client.next().await.unwrap().unwrap() {
        Message::Binary(payload) => assert_eq!(&payload[..], PINGREQ),
        other => panic!("expected a binary message, got {other:?}"),
    }
    client
        .send(Message::binary(CONNECT.to_vec()))
        .await
        .unwrap();
    assert_eq!(read.await.unwrap(), CONNECT);
}

#[test]
fn streams_are_send_and_unpin() {
    fn usable<T: AsyncRead + AsyncWrite + Send + Unpin + 'static>() {}
    usable::<WsStream<tokio::net::TcpStream>>();
    usable::<WsStream<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>>();
}

#[tokio::test]
async fn accept_runs_on_its_own_task() {
    let (client_io, server_io) = duplex(64 * 1024);
    let server = tokio::spawn(accept(server_io, DEFAULT_PATH, MAX_PACKET));
    let mut request = "ws://localhost/mqtt".into_client_request().unwrap();
    request
        .headers_mut()
        .insert(header::SEC_WEBSOCKET_PROTOCOL, "mqtt".parse().unwrap());
    let (mut client, _) = client_async(request, client_io).await.unwrap();
    let mut server = server.await.unwrap().unwrap();
    client
        .send(Message::binary(PINGREQ.to_vec()))
        .await
        .unwrap();
    let mut got = [0; 2];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(got, PINGREQ);
}

#[tokio::test]
async fn a_large_message_arrives_whole() {
    let (mut client, _, mut server) = connect("mqtt").await;
    // Beyond 65,535 bytes: the 64-bit length form, and more than the pipe holds at once.
    let big: Vec<u8> = (0..66_000u32).map(|i| (i % 251) as u8).collect();
    let sent = big.clone();
    let send = tokio::spawn(async move { client.send(Message::binary(sent)).await });
    let mut got = vec![0; big.len()];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(got, big);
    send.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_large_write_is_one_binary_frame() {
    let (mut client, _, mut server) = connect("mqtt").await;
    let big = vec![0x30u8; 70_000];
    let sent = big.clone();
    let write = tokio::spawn(async move {
        server.write_all(&sent).await.unwrap();
        server.flush().await.unwrap();
        server
    });
    match client.next().await.unwrap().unwrap() {
        Message::Binary(payload) => assert_eq!(payload.len(), big.len()),
        other => panic!("expected a binary message, got {other:?}"),
    }
    write.await.unwrap();
}

#[tokio::test]
async fn a_ping_between_fragments_is_answered_and_the_message_goes_on() {
    let (mut client, _, mut server) = connect("mqtt").await;
    let first = Frame::message(CONNECT[..4].to_vec(), OpCode::Data(Data::Binary), false);
    let rest = Frame::message(CONNECT[4..].to_vec(), OpCode::Data(Data::Continue), true);
    client.send(Message::Frame(first)).await.unwrap();
    client
        .send(Message::Ping(Bytes::from_static(b"p")))
        .await
        .unwrap();
    client.send(Message::Frame(rest)).await.unwrap();
    let mut got = vec![0; CONNECT.len()];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(got, CONNECT);
    match client.next().await.unwrap().unwrap() {
        Message::Pong(payload) => assert_eq!(&payload[..], b"p"),
        other => panic!("expected a pong, got {other:?}"),
    }
}

/// Sends `raw` bytes as they are, under the client's WebSocket, and expects the server to
/// fail the read and close with 1002.
async fn expect_protocol_error(raw: &[u8]) {
    let (mut client, _, mut server) = connect("mqtt").await;
    client.get_mut().write_all(raw).await.unwrap();
    let mut buf = [0; 16];
    // Payload read before the bad frame is delivered first.
    let err = loop {
        match server.read(&mut buf).await {
            Ok(n) => assert!(n > 0, "end of stream instead of an error"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    match client.next().await.unwrap() {
        Ok(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Protocol),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unmasked_frame_closes_with_1002() {
    expect_protocol_error(&[0x82, 0x02, 0xc0, 0x00]).await;
}

#[tokio::test]
async fn a_continuation_without_a_message_closes_with_1002() {
    expect_protocol_error(&[0x80, 0x82, 0, 0, 0, 0, 0xc0, 0x00]).await;
}

#[tokio::test]
async fn a_new_message_inside_a_fragmented_one_closes_with_1002() {
    // A binary frame without FIN, then another binary frame instead of a continuation.
    expect_protocol_error(&[0x02, 0x81, 0, 0, 0, 0, 0xc0, 0x82, 0x81, 0, 0, 0, 0, 0x00]).await;
}
