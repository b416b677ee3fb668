-- wrk script: POST one multipart/form-data body of SIZE_MIB MiB per request.
local size = tonumber(os.getenv("SIZE_MIB") or "32") * 1024 * 1024
local boundary = "swerveBench9f3a"
local head = "--" .. boundary .. "\r\n" ..
    "Content-Disposition: form-data; name=\"file\"; filename=\"bench.bin\"\r\n" ..
    "Content-Type: application/octet-stream\r\n\r\n"
local tail = "\r\n--" .. boundary .. "--\r\n"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = head .. string.rep("z", size) .. tail
