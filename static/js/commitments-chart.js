// Money committed to a round over time (Chart.js, vendored): bars per day, the running total as a line from the
// day the round opened, and the round's target as a flat line, from the json_script beside the canvas. (The
// maximum is in the totals above: drawn here it would flatten everything else against the axis.)
(function () {
  const canvas = document.getElementById("commitments-chart");
  const source = document.getElementById("commitments-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const flat = (value) => data.labels.map(() => Number(value));
  const dollars = (value) => "$" + Number(value).toLocaleString();
  const names = data.names;  // translated by the page
  new Chart(canvas, {
    data: {
      labels: data.labels,
      datasets: [
        { type: "bar", label: names.daily, data: data.daily.map(Number), backgroundColor: "#93c5fd", maxBarThickness: 48 },
        { type: "line", label: names.running, data: data.running.map(Number), borderColor: "#1f5fbf", tension: 0.2 },
        { type: "line", label: names.target, data: flat(data.target), borderColor: "#0d9488", borderDash: [6, 4], pointRadius: 0 },
      ],
    },
    options: {
      animation: false, maintainAspectRatio: false,
      plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${dollars(item.parsed.y)}` } } },
      scales: { y: { beginAtZero: true, ticks: { callback: dollars } } },
    },
  });
})();
