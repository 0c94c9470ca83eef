// An error answered to the client in OpenAI's shape:
// {"error": {"message", "type", "param", "code"}} with an HTTP status.
#pragma once

#include <stdexcept>
#include <string>

namespace server {

struct ApiError : std::runtime_error {
    int status;
    std::string type;   // invalid_request_error, authentication_error, server_error, ...
    std::string param;  // the offending request field, "" when none
    std::string code;   // a machine-readable reason, "" when none

    ApiError(int status_, std::string message, std::string type_, std::string param_ = "", std::string code_ = "")
        : std::runtime_error(std::move(message)),
          status(status_),
          type(std::move(type_)),
          param(std::move(param_)),
          code(std::move(code_)) {}
};

// 400 for a request that is wrong, naming the field.
inline ApiError invalid_request(const std::string &message, const std::string &param = "",
                                const std::string &code = "invalid_value") {
    return ApiError(400, message, "invalid_request_error", param, code);
}

// 400 for a field that would change the output but is not implemented: refused, never ignored.
inline ApiError unsupported_field(const std::string &param, const std::string &why) {
    return ApiError(400, "'" + param + "' is not supported by this server: " + why, "invalid_request_error", param,
                    "unsupported_parameter");
}

}  // namespace server
