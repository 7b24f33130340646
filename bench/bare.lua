-- The bare Worker answers any request; send the same shape of request as the gateway gets.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json;charset=utf8"
wrk.body = '{"activity":"newInstance","orderId":"CS0","orderLineId":"CS0-000001","businessId":"b"}'
