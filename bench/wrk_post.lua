-- wrk_post.lua - POSTs pictures again and again: wrk -s bench/wrk_post.lua URL -- FILE...
-- Each FILE is sent as a request's body to URL's path, the files in turn (one file: that
-- file every time). Used by bench/serve_bench.sh.
local bodies = {}
local next_body = 1

function init(args)
    for i = 1, #args do
        local f = assert(io.open(args[i], "rb"))
        bodies[i] = f:read("*a")
        f:close()
    end
    assert(#bodies > 0, "wrk_post.lua: give at least one picture after --")
end

function request()
    local body = bodies[next_body]
    next_body = next_body % #bodies + 1
    return wrk.format("POST", nil, {["Content-Type"] = "image/png"}, body)
end
