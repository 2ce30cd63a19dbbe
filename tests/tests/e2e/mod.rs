mod connect;
mod malformed;
mod qos;
mod retained;
mod session;
mod sys;
mod topics;
mod will;
