// The socket of the connection a request arrived on, to see whether its client has gone.
// A non-streamed request writes nothing until its answer is ready, so no failed write can
// tell that the client left; only the socket can. cpp-httplib 0.11 gives a handler no
// socket, so it is found by the connection's two addresses, which the request carries and
// which name exactly one open TCP socket (the connection stays open while its handler runs).
#pragma once

#include <httplib.h>

namespace server {

class ClientConnection {
public:
    explicit ClientConnection(const httplib::Request &req);
    // True once the client has closed its end (or the connection failed). False when the
    // socket was not found: the request is then served to the end, as before.
    bool gone() const;
    bool found() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

}  // namespace server
