-- wrk_post.lua - POSTs one picture again and again: wrk -s bench/wrk_post.lua URL -- FILE
-- FILE is sent as the body of every request, to URL's path. Used by bench/serve_bench.sh.
local body

function init(args)
    local f = assert(io.open(args[1], "rb"))
    body = f:read("*a")
    f:close()
end

function request()
    return wrk.format("POST", nil, {["Content-Type"] = "image/png"}, body)
end
