// A download that takes a while (a large project's dossier): say so while it is made, and when it is
// ready, save it. Without JavaScript the link itself downloads the file.
document.addEventListener("click", async (event) => {
  const link = event.target.closest("a.download[data-busy]");
  const note = document.querySelector(".busy-note");
  if (!link || !note || !window.fetch) return;
  event.preventDefault();
  note.textContent = link.dataset.busy;
  note.hidden = false;
  link.setAttribute("aria-disabled", "true");
  try {
    const answer = await fetch(link.href, { credentials: "same-origin" });
    if (!answer.ok) throw new Error(await answer.text());
    const name = (answer.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
    const url = URL.createObjectURL(await answer.blob());
    const save = document.createElement("a");
    save.href = url;
    save.download = name ? name[1] : "dossier.zip";
    document.body.appendChild(save);
    save.click();
    save.remove();
    URL.revokeObjectURL(url);
    note.textContent = "档案已生成，并已记入项目档案。";
  } catch (problem) {
    note.textContent = "档案没有生成：请刷新页面后重试。";
  } finally {
    link.removeAttribute("aria-disabled");
  }
});
