//! actix-web's response for an [`Answer`] and an [`Error`] (the `actix` feature, for
//! logto-actix).

use crate::{Answer, Error};
use actix_web::body::BoxBody;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError};

impl Answer {
    /// The answer as actix-web's response.
    fn into_actix(self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = HttpResponse::with_body(status, self.body);
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            // A name or value a header cannot carry is left out (the rules build none).
            let name = HeaderName::from_bytes(name.as_bytes());
            if let (Ok(name), Ok(value)) = (name, HeaderValue::try_from(value)) {
                headers.append(name, value);
            }
        }
        response.map_into_boxed_body()
    }
}

impl Responder for Answer {
    type Body = BoxBody;

    fn respond_to(self, _request: &HttpRequest) -> HttpResponse {
        self.into_actix()
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        self.answer().into_actix()
    }
}
