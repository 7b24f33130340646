-- Replays pre-signed requests (one "path<TAB>body" per line), each thread its own share, each request once.
-- Counts answers whose resultCode is not 000000, so a benchmark never reports the speed of refusals.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, total = args[1], tonumber(args[2])
  requests, index, bad, exhausted = {}, 0, 0, 0
  local n = 0
  for line in io.lines(file) do
    if n % total == id then
      local path, body = line:match("^([^\t]+)\t(.*)$")
      table.insert(requests, wrk.format("POST", path, { ["Content-Type"] = "application/json;charset=utf8" }, body))
    end
    n = n + 1
  end
end

function request()
  index = index + 1
  if index > #requests then
    exhausted = exhausted + 1
    index = 1
  end
  return requests[index]
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"resultCode":"000000"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad_total, exhausted_total = 0, 0
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    exhausted_total = exhausted_total + thread:get("exhausted")
  end
  io.write(string.format("NOT_OK %d\nEXHAUSTED %d\n", bad_total, exhausted_total))
end
