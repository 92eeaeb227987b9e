// A file picker that checks the size in the browser before anything is sent: a file over
// `max_bytes` is announced by name and size only, so a huge file never reaches the server
// (where it would exceed the websocket's message limit and cut the session off).

export function render({ model, el }) {
  const input = document.createElement("input")
  input.type = "file"
  input.accept = model.accept
  input.className = "wqml-upload-input"
  input.setAttribute("aria-label", model.label || "Upload a molecule file")
  let serial = (model.upload && model.upload.serial) || 0
  input.addEventListener("change", () => {
    const file = input.files && input.files[0]
    if (!file) return
    serial += 1
    if (file.size > model.max_bytes) {
      model.upload = {name: file.name, size: file.size, refused: true, serial: serial}
      input.value = ""
      return
    }
    const reader = new FileReader()
    reader.onload = () => {
      const url = String(reader.result)
      model.upload = {name: file.name, size: file.size, b64: url.slice(url.indexOf(",") + 1), serial: serial}
      input.value = ""  // choosing the same file again is a new upload
    }
    reader.onerror = () => {
      model.upload = {name: file.name, size: file.size, refused: true, unreadable: true, serial: serial}
    }
    reader.readAsDataURL(file)
  })
  model.on("accept", () => { input.accept = model.accept })
  el.appendChild(input)
}
