// Reads the next Frame from either transport in a coroutine (the SDK's reader): decodes what is
// buffered, and receives more until a Frame or an error. The server reads with callbacks instead
// (net::connection::read_frames), since a waiting coroutine costs an idle connection its frames.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <tern/wire/frame_codec.hpp>

#include "tern/v1/frame.pb.h"

namespace tern::transport {

// Errors: the stream's, or tern::wire::errc for bad bytes.
template <class Transport>
boost::asio::awaitable<boost::system::error_code> read_frame(Transport& transport, v1::Frame& out) {
    for (;;) {
        boost::system::error_code ec;
        const auto status = transport.next(out, ec);
        if (status == wire::split_status::frame) co_return boost::system::error_code{};
        if (status == wire::split_status::error) co_return ec;
        auto [fill_ec] =
            co_await transport.async_fill(boost::asio::as_tuple(boost::asio::use_awaitable));
        if (fill_ec) co_return fill_ec;
    }
}

}  // namespace tern::transport
