/* 数据看板 charts: Chart.js from this app's static files, data from the page's JSON. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("rp-data").textContent);
  var links = data.links;
  var INTENTS = data.labels.intents, CAUSES = data.labels.causes;
  function intentName(id) { return INTENTS[id] || id; }
  var COLORS = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777",
    "#65a30d", "#ea580c", "#475569"];
  var OUTCOME = { valid: "一致", mismatch: "不一致", not_found: "查无此票", voided: "作废",
    red_flushed: "红冲", too_many_checks: "超过次数", issued_today: "当天票", too_old: "超五年",
    bad_input: "格式不正确", upstream_error: "查验异常", pending: "查询中" };
  var STATUS = { "new": "新建", open: "处理中", pending: "等待用户" };

  Chart.defaults.font.family = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
  Chart.defaults.font.size = 12;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;

  function go(params) {
    var query = links.query;
    Object.keys(params).forEach(function (k) {
      query += "&" + encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    });
    window.location.href = links.drill + "?" + query;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || seconds === "") { return "—"; }
    seconds = Number(seconds);
    if (seconds < 3600) { return Math.round(seconds / 60) + "分钟"; }
    var hours = Math.floor(seconds / 3600), minutes = Math.round((seconds % 3600) / 60);
    return hours + "小时" + (minutes ? minutes + "分" : "");
  }

  function percent(rate) {
    if (rate === null || rate === undefined || rate === "") { return "—"; }
    return (Number(rate) * 100).toFixed(1) + "%";
  }

  document.querySelectorAll("[data-seconds]").forEach(function (el) {
    el.textContent = duration(el.getAttribute("data-seconds"));
  });
  document.querySelectorAll("[data-rate]").forEach(function (el) {
    el.textContent = percent(el.getAttribute("data-rate"));
  });

  // Quick ranges: the last N days up to the chosen end.
  document.querySelectorAll(".rp-days").forEach(function (a) {
    a.addEventListener("click", function (event) {
      event.preventDefault();
      var end = new Date(document.getElementById("rp-end").value + "T00:00:00");
      var start = new Date(end.getTime() - (Number(a.getAttribute("data-days")) - 1) * 86400000);
      var pad = function (n) { return (n < 10 ? "0" : "") + n; };
      document.getElementById("rp-start").value =
        start.getFullYear() + "-" + pad(start.getMonth() + 1) + "-" + pad(start.getDate());
      document.getElementById("rp-filters").submit();
    });
  });

  function chart(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) { return null; }
    return new Chart(canvas, config);
  }

  function clickIndex(handler) {
    return function (event, elements) {
      if (elements.length) { handler(elements[0].index, elements[0].datasetIndex); }
    };
  }

  // Incidents as shaded spans on the daily chart (a plugin of this page).
  var incidentShading = {
    id: "incidentShading",
    beforeDatasetsDraw: function (c) {
      var days = data.by_day.days;
      if (!data.incidents.length || !days.length) { return; }
      var x = c.scales.x, area = c.chartArea, ctx = c.ctx;
      ctx.save();
      ctx.fillStyle = "rgba(220, 38, 38, 0.10)";
      data.incidents.forEach(function (incident) {
        var from = incident.start.slice(0, 10), to = (incident.end || days[days.length - 1]).slice(0, 10);
        var first = days.findIndex(function (d) { return d >= from; });
        var last = days.length - 1 - days.slice().reverse().findIndex(function (d) { return d <= to; });
        if (first < 0 || last < first) { return; }
        var half = (x.getPixelForValue(1) - x.getPixelForValue(0)) / 2 || 10;
        ctx.fillRect(x.getPixelForValue(first) - half, area.top,
          x.getPixelForValue(last) - x.getPixelForValue(first) + 2 * half, area.bottom - area.top);
      });
      ctx.restore();
    }
  };

  var days = data.by_day.days.map(function (d) { return d.slice(5); });
  chart("rp-chart-days", {
    data: {
      labels: days,
      datasets: [
        { type: "bar", label: "收到消息", data: data.by_day.messages_in, backgroundColor: "rgba(37,99,235,0.25)", yAxisID: "y" },
        { type: "line", label: "会话", data: data.by_day.conversations, borderColor: COLORS[0], backgroundColor: COLORS[0], yAxisID: "y", tension: 0.2 },
        { type: "line", label: "机器人解答", data: data.by_day.bot_answered, borderColor: COLORS[5], backgroundColor: COLORS[5], yAxisID: "y", tension: 0.2 },
        { type: "line", label: "转人工", data: data.by_day.escalated, borderColor: COLORS[3], backgroundColor: COLORS[3], yAxisID: "y", tension: 0.2 },
        { type: "line", label: "闭环解决", data: data.by_day.contained, borderColor: COLORS[1], backgroundColor: COLORS[1], yAxisID: "y", tension: 0.2 },
        { type: "line", label: "未解答", data: data.by_day.unanswered, borderColor: COLORS[2], backgroundColor: COLORS[2], yAxisID: "y", tension: 0.2 }
      ]
    },
    options: {
      interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true, title: { display: true, text: "数量" } } },
      onClick: clickIndex(function (i, dataset) {
        var figures = ["conversations", "conversations", "bot_answered", "escalated", "contained", "unanswered"];
        go({ kind: "conversations", figure: figures[dataset] || "conversations", day: data.by_day.days[i] });
      })
    },
    plugins: [incidentShading]
  });

  chart("rp-chart-hours", {
    type: "bar",
    data: {
      labels: data.by_hour.map(function (_, h) { return h + "时"; }),
      datasets: [{ label: "收到消息", data: data.by_hour, backgroundColor: COLORS[0] }]
    },
    options: {
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true } },
      onClick: clickIndex(function (i) { go({ kind: "messages", hour: i }); })
    }
  });

  chart("rp-chart-shares", {
    type: "line",
    data: {
      labels: days,
      datasets: [
        { label: "未解答占比", data: data.by_day.unanswered_share, borderColor: COLORS[2], backgroundColor: COLORS[2], spanGaps: true },
        { label: "闭环率", data: data.by_day.conversations.map(function (n, i) { return n ? data.by_day.contained[i] / n : null; }), borderColor: COLORS[1], backgroundColor: COLORS[1], spanGaps: true }
      ]
    },
    options: {
      scales: { y: { beginAtZero: true, max: 1, ticks: { callback: function (v) { return Math.round(v * 100) + "%"; } } } },
      plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + "：" + percent(c.raw); } } } },
      onClick: clickIndex(function (i, dataset) {
        go({ kind: "conversations", figure: dataset ? "contained" : "unanswered", day: data.by_day.days[i] });
      })
    }
  });

  var top = data.intents.top;
  chart("rp-chart-intents", {
    type: "bar",
    data: {
      labels: top.map(function (t) { return intentName(t.intent); }),
      datasets: [{ label: "消息数", data: top.map(function (t) { return t.count; }), backgroundColor: COLORS[4] }]
    },
    options: {
      indexAxis: "y",
      plugins: { legend: { display: false } },
      onClick: clickIndex(function (i) { go({ kind: "messages", intent: top[i].intent }); })
    }
  });

  var trend = data.intents.trend;
  chart("rp-chart-intent-trend", {
    type: "line",
    data: {
      labels: days,
      datasets: Object.keys(trend).map(function (intent, n) {
        return { label: intentName(intent), data: trend[intent], borderColor: COLORS[n], backgroundColor: COLORS[n], tension: 0.2 };
      })
    },
    options: { scales: { y: { beginAtZero: true } }, interaction: { mode: "index", intersect: false } }
  });

  function breakdown(id, counts, figure, type, labels) {
    var keys = Object.keys(counts);
    return chart(id, {
      type: type,
      data: {
        labels: keys.map(function (k) { return (labels && labels[k]) || k; }),
        datasets: [{ data: keys.map(function (k) { return counts[k]; }), backgroundColor: keys.map(function (_, n) { return COLORS[n % COLORS.length]; }) }]
      },
      options: {
        plugins: { legend: { display: type === "doughnut", position: "right" } },
        onClick: clickIndex(function (i) { go({ kind: "checks", figure: figure, value: keys[i] }); })
      }
    });
  }
  breakdown("rp-chart-results", data.checks.by_result, "result", "doughnut", OUTCOME);
  breakdown("rp-chart-causes", data.checks.by_cause, "cause", "bar", CAUSES);

  function table(id, heads, rows) {
    var el = document.getElementById(id);
    if (!el) { return; }
    if (!rows.length) { el.innerHTML = '<tr><td class="rp-empty">暂无数据</td></tr>'; return; }
    var html = "<thead><tr>" + heads.map(function (h) { return "<th>" + h + "</th>"; }).join("") + "</tr></thead><tbody>";
    rows.forEach(function (row) {
      html += "<tr>" + row.map(function (cell) { return "<td>" + cell + "</td>"; }).join("") + "</tr>";
    });
    el.innerHTML = html + "</tbody>";
  }
  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }
  function drillLink(params, text) {
    var query = links.query;
    Object.keys(params).forEach(function (k) { query += "&" + k + "=" + encodeURIComponent(params[k]); });
    return '<a href="' + links.drill + "?" + query + '">' + esc(text) + "</a>";
  }
  table("rp-regions", ["地区", "查验次数"], Object.keys(data.checks.by_region).map(function (k) {
    return [drillLink({ kind: "checks", figure: "region", value: k }, k), data.checks.by_region[k]];
  }));
  table("rp-issuers", ["开票方", "查验次数"], Object.keys(data.checks.by_issuer).map(function (k) {
    return [drillLink({ kind: "checks", figure: "issuer", value: k }, k), data.checks.by_issuer[k]];
  }));

  function histogram(id, buckets, figure, color) {
    chart(id, {
      type: "bar",
      data: {
        labels: buckets.map(function (b) { return b.label; }),
        datasets: [{ label: "工单数", data: buckets.map(function (b) { return b.count; }), backgroundColor: color }]
      },
      options: {
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true } },
        onClick: clickIndex(function () { go({ kind: "tickets", figure: figure }); })
      }
    });
  }
  histogram("rp-chart-first", data.tickets.first_response, "first_response", COLORS[0]);
  histogram("rp-chart-resolution", data.tickets.resolution, "resolved", COLORS[1]);

  var backlog = data.tickets.backlog;
  chart("rp-chart-backlog", {
    type: "bar",
    data: {
      labels: backlog.map(function (q) { return q.queue; }),
      datasets: ["new", "open", "pending"].map(function (status, n) {
        return { label: STATUS[status], data: backlog.map(function (q) { return q[status]; }), backgroundColor: [COLORS[3], COLORS[0], COLORS[2]][n] };
      })
    },
    options: {
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
      onClick: clickIndex(function (i) { go({ kind: "tickets", figure: "backlog", value: backlog[i].slug }); })
    }
  });

  table("rp-workload", ["客服", "处理中", "本期分配", "本期已解决", "解决用时 P50"], data.tickets.workload.map(function (a) {
    return [esc(a.agent), a.open, a.assigned, a.resolved, duration(a.resolution_p50_seconds)];
  }));

  chart("rp-chart-csat", {
    data: {
      labels: days,
      datasets: [
        { type: "line", label: "平均分", data: data.satisfaction.by_day, borderColor: COLORS[1], backgroundColor: COLORS[1], spanGaps: true, yAxisID: "y" },
        { type: "bar", label: "评价数", data: data.satisfaction.responses_by_day, backgroundColor: "rgba(100,116,139,0.25)", yAxisID: "y1" }
      ]
    },
    options: {
      scales: {
        y: { min: 1, max: 5, title: { display: true, text: "平均分" } },
        y1: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "评价数" } }
      }
    }
  });

  chart("rp-chart-csat-dist", {
    type: "bar",
    data: {
      labels: ["1分", "2分", "3分", "4分", "5分"],
      datasets: [{ label: "评价数", data: data.satisfaction.distribution, backgroundColor: [COLORS[3], COLORS[8], COLORS[2], COLORS[5], COLORS[1]] }]
    },
    options: {
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true } },
      onClick: clickIndex(function (i) { go({ kind: "tickets", figure: "rated", value: i + 1 }); })
    }
  });

  table("rp-incidents", ["事件", "状态", "开始", "结束"], data.incidents.map(function (i) {
    return [esc(i.title), esc(i.status), i.start.slice(0, 16).replace("T", " "), i.end ? i.end.slice(0, 16).replace("T", " ") : "进行中"];
  }));

  table("rp-ratings", ["问答条目", "有用", "没用", "有用率"], data.ratings.map(function (r) {
    return [esc(r.entry_key), r.useful, r.useless, percent(r.total ? r.useful / r.total : null)];
  }));
})();
