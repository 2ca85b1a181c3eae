-- wrk script: POST signed WeChat text messages to /wechat/, each with its own MsgId.
--
-- wrk -s wechat.lua URL -- <signed-file> <timestamp> <wrk-threads> <run-tag> <answers-dir>
--                          [<followers> <pool-tag>]
--
-- Every request carries its own nonce, as WeChat's do (the webhook refuses a second
-- body under a (timestamp, nonce) it has seen: a replay). wrk's Lua has no SHA-1, so
-- harness.py writes the signed query strings to <signed-file>, one per line; thread k
-- of n takes lines k, k+n, k+2n, ... The run tag (digits) keeps MsgIds distinct across
-- runs; run.py counts rows by it afterwards.
--
-- Senders: with <followers> = 0 every message comes from a new follower (FromUserName
-- carries the MsgId); with N > 0 the messages go round a pool of N followers named
-- after <pool-tag>, which run.py keeps for the warm-up and the measured run, the way
-- real followers ask several questions.
--
-- Every 200 answer that is a text reply is written down by its message number, one
-- file per wrk thread, so run.py can check that each answered message has its database
-- row. The number travels in ToUserName (the account's id, which both apps send back
-- as the reply's FromUserName), so it identifies the message whoever sent it.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local signed, nsigned, nthreads, prefix, answers, followers, pool
local counter = 0
-- Globals, so that done() can read them from each thread.
replied, bad_replies = 0, 0
-- Realistic questions of the product's users (one per intent family, see
-- shared/nlu/intents.md), plus WeRoBot's keyword; every text goes through our NLU.
local contents = {
  "刚开的发票查不到怎么办",
  "查验的时候提示信息不一致",
  "数电票没有发票代码怎么查验",
  "报销系统导入发票失败说发票不存在",
  "上海开的发票在北京查不到",
  "发票显示已作废是怎么回事",
  "你好，在吗",
  "帮助",                            -- WeRoBot's keyword
}

function init(args)
  local file, timestamp, tag, dir = args[1], args[2], args[4], args[5]
  nthreads = tonumber(args[3]) or 1
  followers, pool = tonumber(args[6] or "0") or 0, args[7] or tag
  signed, nsigned = {}, 0
  for line in io.lines(file) do
    nsigned = nsigned + 1
    signed[nsigned] = line
  end
  -- tid is set by setup() in the main Lua state before init runs in the thread.
  prefix = tag .. string.format("%02d", tid or 1)
  created = timestamp
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
  if dir then
    -- Buffered; the C library flushes it when wrk exits.
    answers = assert(io.open(dir .. "/answered-" .. prefix .. ".txt", "w"))
    answers:setvbuf("full")
  end
end

function request()
  counter = counter + 1
  local seq = prefix .. string.format("%08d", counter)
  local openid = "obench" .. seq
  if followers > 0 then
    openid = "obench" .. pool .. string.format("%02d%06d", tid or 1, counter % followers)
  end
  local body = "<xml><ToUserName><![CDATA[gh" .. seq .. "]]></ToUserName>"
    .. "<FromUserName><![CDATA[" .. openid .. "]]></FromUserName>"
    .. "<CreateTime>" .. created .. "</CreateTime>"
    .. "<MsgType><![CDATA[text]]></MsgType>"
    .. "<Content><![CDATA[" .. contents[counter % #contents + 1] .. "]]></Content>"
    .. "<MsgId>" .. seq .. "</MsgId></xml>"
  -- Past the last line the queries repeat (the webhook would answer 403): the file is
  -- sized for more than any app answers in the run.
  local line = signed[((counter - 1) * nthreads + (tid or 1) - 1) % nsigned + 1]
  return wrk.format(nil, "/wechat/?" .. line .. "&openid=" .. openid, nil, body)
end

function response(status, headers, body)
  if status ~= 200 then
    return
  end
  local seq = string.match(body, "<FromUserName><!%[CDATA%[gh(%d+)%]%]></FromUserName>")
  if seq and string.find(body, "<Content>", 1, true) then
    replied = replied + 1
    if answers then
      answers:write(seq, "\n")
    end
  else
    bad_replies = bad_replies + 1
  end
end

function done(summary, latency, requests)
  local text_replies, other_replies = 0, 0
  for _, thread in ipairs(threads) do
    text_replies = text_replies + thread:get("replied")
    other_replies = other_replies + thread:get("bad_replies")
  end
  -- One machine-readable line for run.py; wrk's own text output stays above it.
  io.write(string.format(
    "WRK_JSON {\"requests\": %d, \"duration_us\": %d, \"non2xx\": %d, \"connect\": %d, "
      .. "\"read\": %d, \"write\": %d, \"timeout\": %d, \"p50_us\": %d, \"p90_us\": %d, "
      .. "\"p99_us\": %d, \"max_us\": %d, \"mean_us\": %.1f, \"text_replies\": %d, "
      .. "\"other_replies\": %d}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, text_replies, other_replies))
end
