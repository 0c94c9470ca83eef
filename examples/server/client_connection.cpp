#include "client_connection.h"

#include <dirent.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

namespace server {

namespace {

// An address as httplib writes Request::remote_addr and local_addr: numeric host, and port.
bool numeric_address(const sockaddr_storage &addr, socklen_t len, std::string &host, int &port) {
    char buf[NI_MAXHOST];
    if (getnameinfo(reinterpret_cast<const sockaddr *>(&addr), len, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) != 0)
        return false;
    host = buf;
    if (addr.ss_family == AF_INET)
        port = ntohs(reinterpret_cast<const sockaddr_in &>(addr).sin_port);
    else if (addr.ss_family == AF_INET6)
        port = ntohs(reinterpret_cast<const sockaddr_in6 &>(addr).sin6_port);
    else
        return false;
    return true;
}

bool is_connection(int fd, const httplib::Request &req) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    std::string host;
    int port = -1;
    if (getpeername(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0 || !numeric_address(addr, len, host, port) ||
        port != req.remote_port || host != req.remote_addr)
        return false;
    len = sizeof addr;
    return getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0 && numeric_address(addr, len, host, port) &&
           port == req.local_port && host == req.local_addr;
}

}  // namespace

ClientConnection::ClientConnection(const httplib::Request &req) {
    if (req.remote_port < 0 || req.local_port < 0) return;
    DIR *dir = opendir("/proc/self/fd");
    if (dir == nullptr) return;
    while (const dirent *e = readdir(dir)) {
        char *end = nullptr;
        const long fd = std::strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0' || fd == dirfd(dir)) continue;
        if (is_connection(static_cast<int>(fd), req)) {
            fd_ = static_cast<int>(fd);
            break;
        }
    }
    closedir(dir);
}

bool ClientConnection::gone() const {
    if (fd_ < 0) return false;
    // POLLRDHUP: the client shut its end (FIN); a request's body has been read in full, so
    // nothing else is expected from it until the answer is sent.
    pollfd p{fd_, static_cast<short>(POLLIN | POLLRDHUP), 0};
    if (poll(&p, 1, 0) <= 0) return false;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

}  // namespace server
