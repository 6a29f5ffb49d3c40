-- wrk pacing: each thread sends WRK_RATE requests per second (bench_reads.py gives each thread
-- its share), on a fixed schedule: a request waits for its slot, so a slow answer does not
-- push the next ones later (as long as the thread has a free connection).
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } timespec;
  int clock_gettime(int clock, timespec *now);
]]
local now_struct = ffi.new("timespec")

local function now_ms()
  ffi.C.clock_gettime(1, now_struct) -- CLOCK_MONOTONIC
  return tonumber(now_struct.tv_sec) * 1000 + tonumber(now_struct.tv_nsec) / 1e6
end

local period_ms = 1000 / tonumber(os.getenv("WRK_RATE"))
local next_slot = nil

function delay()
  local current = now_ms()
  if next_slot == nil or next_slot < current - 1000 then
    next_slot = current -- first request, or a second behind: no burst to catch up
  end
  local wait = next_slot - current
  next_slot = next_slot + period_ms
  if wait < 0 then
    return 0
  end
  return wait
end
