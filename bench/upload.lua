-- wrk script: POST one multipart/form-data body per request, its file part
-- the contents of BODY_FILE (random bytes, carriage returns, or zeros).
local file = assert(io.open(os.getenv("BODY_FILE"), "rb"))
local payload = file:read("*a")
file:close()
local boundary = "swerveBench9f3a"
local head = "--" .. boundary .. "\r\n" ..
    "Content-Disposition: form-data; name=\"file\"; filename=\"bench.bin\"\r\n" ..
    "Content-Type: application/octet-stream\r\n\r\n"
local tail = "\r\n--" .. boundary .. "--\r\n"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = head .. payload .. tail
