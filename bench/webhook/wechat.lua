-- wrk script: POST signed WeChat text messages to /wechat/, each with its own MsgId and
-- FromUserName, so every request is a new delivery (no dedup short-cut).
--
-- wrk -s wechat.lua URL -- <signature> <timestamp> <nonce> <run-tag> [path]
--
-- In plaintext mode the signature covers only (token, timestamp, nonce), so run.py
-- computes one when the run starts and every request reuses it. The run tag (digits)
-- keeps MsgIds and openids distinct across runs; run.py counts rows by it afterwards.

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end

local query, tag, prefix, to_user
local counter = 0
local contents = {
  "帮助",                            -- WeRoBot's keyword
  "发票查验提示不一致怎么办",        -- free text: WeRoBot echoes it
}

function init(args)
  local signature, timestamp, nonce = args[1], args[2], args[3]
  tag = args[4]
  local path = args[5] or "/wechat/"
  query = path .. "?signature=" .. signature .. "&timestamp=" .. timestamp
    .. "&nonce=" .. nonce .. "&openid="
  -- tid is set by setup() in the main Lua state before init runs in the thread.
  prefix = tag .. string.format("%02d", tid or 1)
  to_user = "gh_fapiao_desk"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
  created = timestamp
end

function request()
  counter = counter + 1
  local seq = prefix .. string.format("%08d", counter)
  local openid = "obench" .. seq
  local body = "<xml><ToUserName><![CDATA[" .. to_user .. "]]></ToUserName>"
    .. "<FromUserName><![CDATA[" .. openid .. "]]></FromUserName>"
    .. "<CreateTime>" .. created .. "</CreateTime>"
    .. "<MsgType><![CDATA[text]]></MsgType>"
    .. "<Content><![CDATA[" .. contents[counter % 2 + 1] .. "]]></Content>"
    .. "<MsgId>" .. seq .. "</MsgId></xml>"
  return wrk.format(nil, query .. openid, nil, body)
end

function done(summary, latency, requests)
  -- One machine-readable line for run.py; wrk's own text output stays above it.
  io.write(string.format(
    "WRK_JSON {\"requests\": %d, \"duration_us\": %d, \"non2xx\": %d, \"connect\": %d, "
      .. "\"read\": %d, \"write\": %d, \"timeout\": %d, \"p50_us\": %d, \"p90_us\": %d, "
      .. "\"p99_us\": %d, \"max_us\": %d, \"mean_us\": %.1f}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
