-- wrk script for `bun run bench` (bench/run.ts): one request mix per run, chosen by environment.
--   BENCH_MODE     entry | random | profile | login | paths
--   BENCH_PATHS_FILE  paths: a file of request paths, one a line; each request draws one uniformly
--   BENCH_ID_MIN, BENCH_ID_MAX   entry: ids drawn uniformly from this range (the catalogue's ids are
--                                contiguous; run.ts checks that before choosing this)
--   BENCH_TOKENS   profile: tokens 1..N exist (see tokenFor); each request draws one uniformly
--   BENCH_LOGIN_BODY  login: the JSON body to POST
--   BENCH_PATH    list: the path to GET, with the token of a bench user drawn uniformly from
--                 BENCH_TOKEN_MIN..BENCH_TOKEN_MAX (bench/list.ts: one list, or users at random)
--   BENCH_OK_STATUSES  optional, e.g. "200,404": the statuses that are not errors (then counted by
--                 a response() hook and written as "unexpected"; without it wrk counts status > 399)
--   BENCH_OUT      where done() writes its JSON summary
-- Every mode builds its request in request(), so every run (the bare-Bun ceiling included) pays the
-- same load-generator cost per request.

local mode = os.getenv("BENCH_MODE") or "entry"
local id_min = tonumber(os.getenv("BENCH_ID_MIN") or "1")
local id_max = tonumber(os.getenv("BENCH_ID_MAX") or "1")
local token_count = tonumber(os.getenv("BENCH_TOKENS") or "1")
local login_body = os.getenv("BENCH_LOGIN_BODY") or "{}"
local out_path = os.getenv("BENCH_OUT")
local list_path = os.getenv("BENCH_PATH") or "/list"
local token_min = tonumber(os.getenv("BENCH_TOKEN_MIN") or "1")
local token_max = tonumber(os.getenv("BENCH_TOKEN_MAX") or "1")
local ok_statuses = os.getenv("BENCH_OK_STATUSES")
-- profile: "uniform" (default) draws tokens at random; "sequential" walks 1..N (thread k of T takes
-- k, k+T, k+2T…), touching every token once per pass: to fill a token cache before measuring.
local token_order = os.getenv("BENCH_TOKEN_ORDER") or "uniform"
local thread_total = tonumber(os.getenv("BENCH_THREADS_TOTAL") or "2")
local next_token

-- Must match tokenSql() in bench/lib.ts: 48 hex characters of prefix, then i as 16 hex digits.
local TOKEN_PREFIX = string.rep("be", 24)
local function tokenFor(i)
  return TOKEN_PREFIX .. string.format("%016x", i)
end

local thread_count = 0
local threads = {}
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_no", thread_count)
  threads[#threads + 1] = thread
end

-- Defined only when asked for: a response() hook costs wrk some time on every response.
unexpected = 0
if ok_statuses then
  local allowed = {}
  for code in ok_statuses:gmatch("%d+") do allowed[tonumber(code)] = true end
  function response(status, headers, body)
    if not allowed[status] then unexpected = unexpected + 1 end
  end
end

local fixed
local paths = {}
function init(args)
  math.randomseed((thread_no or 1) * 7919 + os.time())
  next_token = thread_no or 1
  if mode == "random" then
    fixed = wrk.format("GET", "/anime/random")
  elseif mode == "login" then
    fixed = wrk.format("POST", "/account/login", { ["Content-Type"] = "application/json" }, login_body)
  elseif mode == "paths" then
    for line in io.lines(os.getenv("BENCH_PATHS_FILE")) do
      if line ~= "" then paths[#paths + 1] = wrk.format("GET", line) end
    end
  end
end

function request()
  if mode == "entry" then
    return wrk.format("GET", "/anime/entry/" .. math.random(id_min, id_max))
  elseif mode == "profile" then
    local i
    if token_order == "sequential" then
      i = next_token
      next_token = next_token + thread_total
      if next_token > token_count then next_token = thread_no or 1 end
    else
      i = math.random(1, token_count)
    end
    return wrk.format("GET", "/account/profile", { ["Authorization"] = "Token " .. tokenFor(i) })
  elseif mode == "paths" then
    return paths[math.random(1, #paths)]
  elseif mode == "list" then
    return wrk.format("GET", list_path, { ["Authorization"] = "Token " .. tokenFor(math.random(token_min, token_max)) })
  end
  return fixed
end

function done(summary, latency, requests)
  local e = summary.errors
  local status_errors = e.status
  if ok_statuses then
    status_errors = 0
    for _, thread in ipairs(threads) do status_errors = status_errors + thread:get("unexpected") end
  end
  local json = string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, status_errors, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9))
  if out_path then
    local f = assert(io.open(out_path, "w"))
    f:write(json)
    f:close()
  else
    io.write(json .. "\n")
  end
end
