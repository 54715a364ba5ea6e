-- bench/emulator/chat.lua
--   wrk script: POST one OpenAI chat completion with a valid key over
--   keep-alive connections.  No response() hook: it makes wrk parse every
--   body and would measure wrk instead of the emulator.  wrk prints
--   "Non-2xx or 3xx responses" itself, and run.sh reads the emulator's own
--   success count from /admin/stats.

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o-mini","max_tokens":64,"messages":[' ..
           '{"role":"system","content":"You are a benchmark."},' ..
           '{"role":"user","content":"benchmark job 17: say hello"}]}'
