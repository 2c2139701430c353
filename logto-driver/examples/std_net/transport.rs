//! A blocking transport written on `std::net` alone: plain HTTP/1.1, one connection per
//! request (`Connection: close`), for an app that brings its own network stack. It follows
//! the [`Transport`] contract: the request as given, every status an answer, no redirects
//! followed, the driver's timeouts and body limit.
//!
//! Plain `http://` only: an app reaching a provider over TLS wraps the stream in its TLS
//! library here.

use logto_driver::blocking::Transport;
use logto_driver::RequestLimits;
use logto_proto::adapter::{HttpRequest, HttpResponse};
use logto_proto::{TransportError, TransportErrorKind};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

/// The longest status or header line read.
const MAX_LINE: usize = 8 * 1024;

/// Sends each request on a fresh `TcpStream`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdNetTransport;

impl Transport for StdNetTransport {
    fn send(
        &self,
        request: HttpRequest,
        limits: &RequestLimits,
    ) -> Result<HttpResponse, TransportError> {
        let url = request.url.clone();
        let failed = |kind, message: String| TransportError::new(kind, &url, message);
        let io_failed = |e: std::io::Error| {
            let kind = match e.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    TransportErrorKind::Timeout
                }
                _ => TransportErrorKind::Other,
            };
            TransportError::new(kind, &url, e.to_string())
        };
        let target =
            url::Url::parse(&url).map_err(|e| failed(TransportErrorKind::Other, e.to_string()))?;
        if target.scheme() != "http" {
            let message = format!("this transport speaks plain http, not {}", target.scheme());
            return Err(failed(TransportErrorKind::Other, message));
        }
        let host = target.host_str().unwrap_or_default();
        let port = target.port_or_known_default().unwrap_or(80);
        let address = (host, port)
            .to_socket_addrs()
            .map_err(|e| failed(TransportErrorKind::Connect, e.to_string()))?
            .next()
            .ok_or_else(|| failed(TransportErrorKind::Connect, "no address".to_owned()))?;
        // The whole exchange, connection included, ends at one deadline: a socket timeout
        // alone bounds each read, and a server sending a byte at a time would never be cut.
        let deadline = Instant::now() + limits.timeout;
        let mut stream = TcpStream::connect_timeout(&address, limits.connect_timeout)
            .map_err(|e| failed(TransportErrorKind::Connect, e.to_string()))?;
        stream
            .set_write_timeout(Some(limits.timeout))
            .map_err(io_failed)?;

        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            request.method.as_str(),
            &target[url::Position::BeforePath..url::Position::AfterQuery],
            &target[url::Position::BeforeHost..url::Position::AfterPort],
        );
        for (name, value) in &request.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !request.body.is_empty() {
            head.push_str(&format!("Content-Length: {}\r\n", request.body.len()));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).map_err(io_failed)?;
        stream.write_all(&request.body).map_err(io_failed)?;

        let mut reader = BufReader::new(UntilDeadline { stream, deadline });
        let status_line = read_line(&mut reader).map_err(io_failed)?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| failed(TransportErrorKind::Other, "no HTTP status line".to_owned()))?;
        let mut headers = Vec::new();
        loop {
            let line = read_line(&mut reader).map_err(io_failed)?;
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let chunked =
            header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        // One byte beyond the limit tells the driver the body was too large.
        let cap = limits.max_body + 1;
        let body = if chunked {
            read_chunked(&mut reader, cap).map_err(io_failed)?
        } else {
            let mut body = Vec::new();
            let length = header("content-length").and_then(|v| v.parse::<u64>().ok());
            let expected = length.unwrap_or(cap).min(cap);
            reader
                .take(expected)
                .read_to_end(&mut body)
                .map_err(io_failed)?;
            if length.is_some() && (body.len() as u64) < expected {
                return Err(io_failed(cut_short()));
            }
            body
        };
        Ok(HttpResponse::new(status, body).with_headers(headers))
    }
}

/// A stream whose reads end at `deadline`: each read waits at most the time left.
struct UntilDeadline {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for UntilDeadline {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

/// The error for a body that ended before its announced length.
fn cut_short() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the body ended early")
}

/// One CRLF-terminated line, without its terminator.
fn read_line(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = Vec::new();
    reader.take(MAX_LINE as u64).read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "line too long or cut",
        ));
    }
    let line = String::from_utf8_lossy(&line);
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// A chunked body (RFC 9112 7.1), at most `cap` bytes.
fn read_chunked(reader: &mut impl BufRead, cap: u64) -> std::io::Result<Vec<u8>> {
    let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size");
    let mut body = Vec::new();
    loop {
        let size_line = read_line(reader)?;
        let size = size_line.split(';').next().unwrap_or_default().trim();
        let size = u64::from_str_radix(size, 16).map_err(|_| invalid())?;
        if size == 0 {
            return Ok(body);
        }
        let room = cap.saturating_sub(body.len() as u64);
        let wanted = size.min(room);
        let read = reader.take(wanted).read_to_end(&mut body)? as u64;
        if read < wanted {
            return Err(cut_short());
        }
        if body.len() as u64 >= cap {
            return Ok(body);
        }
        read_line(reader)?; // the CRLF after the chunk
    }
}
