-- The session write flow as a per-thread state machine: start a session, record three events,
-- complete it; each step is sent only once the previous step's answer has arrived.
--
-- wrk's response() does not say which connection or request it answers, so every step carries
-- an X-Request-ID naming its flow ("bench-flow-<thread>-<flow>"), which the service echoes:
-- response() finds the flow by it, takes the session id from the start's answer, and queues the
-- flow's next step; request() sends queued steps first (oldest first) and starts a new flow only
-- when none is waiting. So a thread never has more flows open than connections, and consecutive
-- flows use consecutive tokens: with at least as many users as connections no user nears the
-- limit of 5 active sessions. Flows cut off when wrk stops leave active sessions behind; the
-- suite abandons those between runs.
local common = require("common")

local Flow = {}
Flow.__index = Flow

local EVENTS = 3
local CONTENT_TYPE = "application/json"

function Flow.new(tokens, slugs)
  local thread = thread_number or 1
  return setmetatable({
    tokens = tokens,
    slugs = slugs,
    prefix = "bench-flow-" .. thread .. "-",
    pattern = "^bench%-flow%-" .. thread .. "%-(%d+)$",
    started = 0,
    open = {},
    ready = {},
    head = 1,
    tail = 0,
  }, Flow)
end

function Flow:headers(number, token)
  return {
    Authorization = "Bearer " .. token,
    ["Content-Type"] = CONTENT_TYPE,
    ["X-Request-ID"] = self.prefix .. number,
    Origin = common.ORIGIN,
  }
end

function Flow:next_number()
  if self.head <= self.tail then
    local number = self.ready[self.head]
    self.ready[self.head] = nil
    self.head = self.head + 1
    return number
  end
  self.started = self.started + 1
  local number = self.started
  self.open[number] = {
    token = self.tokens[(number - 1) % #self.tokens + 1],
    slug = self.slugs[(number - 1) % #self.slugs + 1],
    step = 0,
  }
  common.add("flows_started")
  return number
end

function Flow:request()
  local number = self:next_number()
  local flow = self.open[number]
  local headers = self:headers(number, flow.token)
  if flow.step == 0 then
    return wrk.format("POST", "/api/v1/sessions", headers, '{"content_slug":"' .. flow.slug .. '"}')
  end
  local base = "/api/v1/sessions/" .. flow.session
  if flow.step <= EVENTS then
    local body = '{"kind":"answer","data":{"question":' .. flow.step .. ',"correct":true}}'
    return wrk.format("POST", base .. "/events", headers, body)
  end
  return wrk.format("POST", base .. "/complete", headers, '{"score":87.5}')
end

-- Handles the answer if it belongs to one of this thread's flows; other answers are ignored.
function Flow:response(status, headers, body)
  local request_id = common.header(headers, "X-Request-ID")
  local number = request_id and tonumber(request_id:match(self.pattern))
  local flow = number and self.open[number]
  if not flow then
    return
  end
  if status < 200 or status > 299 then
    self:fail(number)
    return
  end
  if flow.step == 0 then
    -- A session's first field is its id; its content object has none.
    flow.session = body:match('"id"%s*:%s*"([%x%-]+)"')
    if not flow.session then
      self:fail(number)
      return
    end
  end
  flow.step = flow.step + 1
  if flow.step > EVENTS + 1 then
    self.open[number] = nil
    common.add("flows_completed")
    return
  end
  self.tail = self.tail + 1
  self.ready[self.tail] = number
end

function Flow:fail(number)
  self.open[number] = nil
  common.add("flows_failed")
end

return Flow
